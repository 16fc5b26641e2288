// The texts of the panel beside the mode (options-*.js: settings, deployment check), loaded
// with it and merged into i18n.js's tables, in English and Persian; and the Persian wording of the
// deployment check's reasons, which the library gives in English. Same conventions as i18n.js: stable
// keys, `{name}` placeholders; mode, method and set ids are the library's (and the CLI's).

import { language, t, tNodes } from './i18n.js';
import { el } from './view.js';

const en = {
  'opt.title': 'Conversion settings',
  'opt.mode.float': 'Float32: the float model written again as it is, the baseline every other conversion is measured against.',
  'opt.mode.dynamic-range': 'Dynamic range: weights stored as int8 and turned back into float when the model runs; activations stay float, so nothing is calibrated.',
  'opt.mode.full-integer': 'Full integer: weights and activations int8, their ranges calibrated on representative images; the input and output stay float32.',
  'opt.mode.integer-only-uint8': 'Integer only: int8 inside and uint8 input and output, what integer-only microcontrollers and accelerators run; calibrated.',
  'opt.mode.integer-only-int8': 'Integer only: int8 inside and int8 input and output; calibrated.',
  'opt.mode.float16': 'Float16: weights stored as float16 and turned back into float32 before their operator (TF’s supported_types = [tf.float16]); about half the file, float arithmetic, nothing calibrated.',
  'opt.mode.other': 'The library’s conversion {mode}.',
  'opt.method': 'Calibration method',
  'opt.method-why': 'How each activation’s range is chosen from what the representative images produce; weights always use their min/max.',
  'opt.m.minmax': 'min/max (TensorFlow’s)',
  'opt.m.percentile': 'percentile (99.999th, ONNX Runtime’s)',
  'opt.m.entropy': 'entropy (KL divergence, TensorRT’s)',
  'opt.m.mse': 'MSE (least squared error)',
  'opt.set': 'Calibration images',
  'opt.set-why': 'Which images calibrate: a biased set shows what wrong ranges do to accuracy.',
  'opt.s.first': 'the first N training images (the tutorial’s)',
  'opt.s.random': 'N training images at random (seed 0)',
  'opt.s.digit': 'the first N images of one digit',
  'opt.s.blank': 'N black images',
  'opt.s.noise': 'N images of random pixels',
  'opt.sn.first': 'the first training images',
  'opt.sn.random': 'training images at random',
  'opt.sn.digit': 'images of the digit {d}',
  'opt.sn.blank': 'black images',
  'opt.sn.noise': 'images of random pixels',
  'opt.digit': 'Digit',
  'opt.per-tensor': 'Per-tensor weights',
  'opt.per-tensor-why': 'One scale per weight tensor instead of one per output channel (TF’s _experimental_disable_per_channel).',
  'opt.static': 'Static shapes',
  'opt.static-why': 'Fold the run-time shape computation before the dense layer into a constant shape at batch 1, as integer-only accelerators want (see the deployment check below).',
  'opt.no-calibration': 'Calibration method, images and per-tensor weights are off: {mode} calibrates nothing and keeps its weights as they are made, so they would change nothing.',
  'opt.cli': 'Same file as: {cmd}',
  'opt.strip': 'The {n} images calibration used ({set})',
  'opt.strip-more': '(the first {shown} shown)',
  'opt.strip-none': 'This conversion uses no calibration images.',
  'opt.s-downloading': 'Downloading the training set for this calibration set…',
  'opt.s-downloading-pct': 'Downloading the training set for this calibration set… {pct} %',
  'opt.s-converting': 'Converting in the background…',
  'opt.s-done': 'Converted in the background in {ms} ms: {link}',

  'dep.title': 'Deployment check: an integer-only accelerator (Edge TPU style)',
  'dep.lint': 'A lint from the accelerator’s published requirements (8-bit tensors, sizes known before running, supported operators, at most 3 dimensions larger than 1), not the vendor’s compiler, which may decide otherwise. As the compiler does, the model is split once: from the first operator that does not map, everything runs on the CPU.',
  'dep.checking': 'Checking the converted model…',
  'dep.failed': 'The check failed: {msg}',
  'dep.summary': '{mapped} of {total} operators run on the accelerator.',
  'dep.all': 'The whole model maps.',
  'dep.split': 'From operator {i} ({op}) on, everything runs on the CPU.',
  'dep.try-static': 'Sizes computed at run time keep operators off the accelerator: turn on “Static shapes” above to fold them into constants.',
  'dep.caption': 'Operators of the converted model ({mode})',
  'dep.op-index': '#',
  'dep.op': 'Operator',
  'dep.maps': 'Maps?',
  'dep.where': 'Runs on',
  'dep.why': 'Why',
  'dep.yes': 'yes',
  'dep.no': 'no',
  'dep.accelerator': 'accelerator',
  'dep.cpu': 'CPU',
  'dep.ok': 'maps',
  'dep.after': 'maps, but follows an operator that does not',
};

const fa = {
  'opt.title': 'تنظیمات تبدیل',
  'opt.mode.float': 'float32: همان مدل float که دوباره نوشته می‌شود؛ مبنایی که تبدیل‌های دیگر با آن سنجیده می‌شوند.',
  'opt.mode.dynamic-range': 'بازهٔ پویا: وزن‌ها int8 ذخیره و هنگام اجرا به float برگردانده می‌شوند؛ فعال‌سازی‌ها float می‌مانند، پس چیزی کالیبره نمی‌شود.',
  'opt.mode.full-integer': 'تمام‌صحیح: وزن‌ها و فعال‌سازی‌ها int8، با بازه‌هایی که روی تصویرهای نماینده کالیبره می‌شوند؛ ورودی و خروجی float32 می‌مانند.',
  'opt.mode.integer-only-uint8': 'فقط صحیح: درون int8 و ورودی و خروجی uint8، همان چیزی که میکروکنترلرها و شتاب‌دهنده‌های فقط‌صحیح اجرا می‌کنند؛ کالیبره‌شده.',
  'opt.mode.integer-only-int8': 'فقط صحیح: درون int8 و ورودی و خروجی int8؛ کالیبره‌شده.',
  'opt.mode.float16': 'float16: وزن‌ها float16 ذخیره و پیش از عملگرشان به float32 برگردانده می‌شوند (supported_types = [tf.float16] در TF)؛ حدود نصف حجم، محاسبهٔ float، بدون کالیبراسیون.',
  'opt.mode.other': 'تبدیل {mode} کتابخانه.',
  'opt.method': 'روش کالیبراسیون',
  'opt.method-why': 'بازهٔ هر فعال‌سازی از روی خروجی تصویرهای نماینده چگونه انتخاب شود؛ وزن‌ها همیشه کمینه و بیشینهٔ خود را دارند.',
  'opt.m.minmax': 'کمینه/بیشینه (روش TensorFlow)',
  'opt.m.percentile': 'صدک (۹۹٫۹۹۹، روش ONNX Runtime)',
  'opt.m.entropy': 'آنتروپی (واگرایی KL، روش TensorRT)',
  'opt.m.mse': 'MSE (کمترین خطای مربعی)',
  'opt.set': 'تصویرهای کالیبراسیون',
  'opt.set-why': 'کدام تصویرها کالیبره کنند: مجموعه‌ای سوگیر نشان می‌دهد بازه‌های نادرست با دقت چه می‌کنند.',
  'opt.s.first': 'N تصویر نخست آموزشی (روش آموزش‌نامه)',
  'opt.s.random': 'N تصویر آموزشی تصادفی (بذر ۰)',
  'opt.s.digit': 'N تصویر نخست یک رقم',
  'opt.s.blank': 'N تصویر سیاه',
  'opt.s.noise': 'N تصویر با پیکسل‌های تصادفی',
  'opt.sn.first': 'نخستین تصویرهای آموزشی',
  'opt.sn.random': 'تصویرهای آموزشی تصادفی',
  'opt.sn.digit': 'تصویرهای رقم {d}',
  'opt.sn.blank': 'تصویرهای سیاه',
  'opt.sn.noise': 'تصویرهای پیکسل‌های تصادفی',
  'opt.digit': 'رقم',
  'opt.per-tensor': 'وزن‌های تک‌مقیاسی برای هر تانسور',
  'opt.per-tensor-why': 'یک مقیاس برای هر تانسور وزن به جای یکی برای هر کانال خروجی (_experimental_disable_per_channel در TF).',
  'opt.static': 'شکل‌های ثابت',
  'opt.static-why': 'محاسبهٔ شکل در زمان اجرا پیش از لایهٔ چگال به شکلی ثابت با دستهٔ ۱ تبدیل شود، چنان‌که شتاب‌دهنده‌های فقط‌صحیح می‌خواهند (بررسی استقرار را در پایین ببینید).',
  'opt.no-calibration': 'روش و تصویرهای کالیبراسیون و وزن‌های تک‌مقیاسی غیرفعال‌اند: {mode} چیزی را کالیبره نمی‌کند و وزن‌هایش را همان‌گونه که ساخته می‌شوند نگه می‌دارد، پس اثری نداشتند.',
  'opt.cli': 'همان فایلِ: {cmd}',
  'opt.strip': '{n} تصویری که کالیبراسیون به کار برد ({set})',
  'opt.strip-more': '({shown} تصویر نخست نشان داده شده)',
  'opt.strip-none': 'این تبدیل تصویری برای کالیبراسیون به کار نمی‌برد.',
  'opt.s-downloading': 'بارگیری مجموعهٔ آموزشی برای این مجموعهٔ کالیبراسیون…',
  'opt.s-downloading-pct': 'بارگیری مجموعهٔ آموزشی برای این مجموعهٔ کالیبراسیون… {pct}٪',
  'opt.s-converting': 'تبدیل در پس‌زمینه…',
  'opt.s-done': 'در پس‌زمینه در {ms} میلی‌ثانیه تبدیل شد: {link}',

  'dep.title': 'بررسی استقرار: شتاب‌دهندهٔ فقط‌صحیح (از نوع Edge TPU)',
  'dep.lint': 'این بررسی از روی الزامات منتشرشدهٔ شتاب‌دهنده است (تانسورهای ۸ بیتی، اندازه‌های معلوم پیش از اجرا، عملگرهای پشتیبانی‌شده، حداکثر ۳ بعد بزرگ‌تر از ۱)، نه کامپایلر سازنده که ممکن است جور دیگری تصمیم بگیرد. مانند کامپایلر، مدل یک بار بخش می‌شود: از نخستین عملگری که نگاشت نمی‌شود، همه چیز روی CPU اجرا می‌شود.',
  'dep.checking': 'بررسی مدل تبدیل‌شده…',
  'dep.failed': 'بررسی ناموفق بود: {msg}',
  'dep.summary': '{mapped} عملگر از {total} عملگر روی شتاب‌دهنده اجرا می‌شوند.',
  'dep.all': 'کل مدل نگاشت می‌شود.',
  'dep.split': 'از عملگر {i} ({op}) به بعد، همه چیز روی CPU اجرا می‌شود.',
  'dep.try-static': 'اندازه‌هایی که در زمان اجرا حساب می‌شوند عملگرها را از شتاب‌دهنده دور نگه می‌دارند: «شکل‌های ثابت» را در بالا روشن کنید تا به ثابت تبدیل شوند.',
  'dep.caption': 'عملگرهای مدل تبدیل‌شده ({mode})',
  'dep.op-index': '#',
  'dep.op': 'عملگر',
  'dep.maps': 'نگاشت می‌شود؟',
  'dep.where': 'اجرا روی',
  'dep.why': 'چرا',
  'dep.yes': 'بله',
  'dep.no': 'خیر',
  'dep.accelerator': 'شتاب‌دهنده',
  'dep.cpu': 'CPU',
  'dep.ok': 'نگاشت می‌شود',
  'dep.after': 'نگاشت می‌شود، اما پس از عملگری می‌آید که نگاشت نمی‌شود',
  'dep.role.input': 'ورودی',
  'dep.role.output': 'خروجی',
  'dep.role.weights': 'وزن‌های',
  'dep.role.bias': 'بایاس',
  'dep.role.shape': 'شکل',
  'dep.r.dtype': '{role} {name} از نوع {dtype} است، نه کوانتیزهٔ ۸ بیتی',
  'dep.r.run-time': 'اندازهٔ {role} {name} فقط در زمان اجرا معلوم است (با شکل‌های ثابت تبدیل کنید)',
  'dep.r.rank': '{role} {name} شکل {shape} دارد: بیش از رتبهٔ ۳ فقط سه بعد درونی می‌توانند از ۱ بزرگ‌تر باشند',
  'dep.r.constant': '{role} {name} ثابت نیست',
  'dep.r.dequantize': 'DEQUANTIZE خروجی float می‌دهد که شتاب‌دهنده اجرا نمی‌کند',
  'dep.r.shape-op': 'SHAPE اندازه‌ای را در زمان اجرا حساب می‌کند (با شکل‌های ثابت تبدیل کنید)',
  'dep.r.unsupported': '{op} از عملگرهای پشتیبانی‌شده نیست',
  'dep.r.dilation': 'اتساع (dilation) همراه با گام (stride) پشتیبانی نمی‌شود',
};

export const texts = { en, fa };

/** The library's reasons (English), each with the key of its Persian wording and its parts. */
const REASONS = [
  [/^(\w+) (\S+) is (\w+), not 8-bit quantized$/, 'dep.r.dtype', ['role', 'name', 'dtype']],
  [/^(\w+) (\S+) has a size known only at run time \(convert with static shapes\)$/, 'dep.r.run-time', ['role', 'name']],
  [/^(\w+) (\S+) has shape (\[[^\]]*\]): beyond rank 3 only the three innermost dimensions may exceed 1$/, 'dep.r.rank', ['role', 'name', 'shape']],
  [/^(weights|bias) (\S+) is not constant$/, 'dep.r.constant', ['role', 'name']],
  [/^DEQUANTIZE produces float, which the accelerator does not run$/, 'dep.r.dequantize', []],
  [/^SHAPE computes a size at run time \(convert with static shapes\)$/, 'dep.r.shape-op', []],
  [/^(\S+) is not a supported operator$/, 'dep.r.unsupported', ['op']],
  [/^dilation together with stride is not supported$/, 'dep.r.dilation', []],
];

/** A reason of the deployment check in the current language: the library's own words in English; in
 * Persian its wording, or the English words marked as such when the library says something new. */
export function reason(text) {
  if (language() === 'en') return text;
  for (const [pattern, key, parts] of REASONS) {
    const m = text.match(pattern);
    if (!m) continue;
    const vars = {};
    parts.forEach((part, i) => {
      const v = m[i + 1];
      vars[part] = part === 'role' ? t(`dep.role.${v}`) : el('bdi', { dir: 'ltr', text: v });
    });
    return tNodes(key, vars);
  }
  return el('span', { lang: 'en', dir: 'ltr', text });
}
