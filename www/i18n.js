// Every text of the page, one table per language. Keys are stable; `{name}` is a placeholder filled by
// t(key, {name: value}) (numbers are formatted for the language). Messages coming from the wasm library
// (error details) stay in English and are shown after a translated sentence.

const en = {
  dir: 'ltr',
  skip: 'Skip to the playground',
  title: 'Post-training quantization playground',
  lede: 'The TensorFlow MNIST tutorial, entirely in your browser: a float32 CNN and its integer-only uint8 version, converted to real .tflite files and run by a bit-exact integer interpreter compiled to WebAssembly.',
  language: 'Language',
  'status.wasm': 'Loading the WebAssembly module…',
  'status.data': 'Loading the model and the test images…',
  'status.quantizing': 'Quantizing with {n} representative images…',
  'status.ready': 'Ready: both models are loaded ({ms} ms).',
  'status.failed': 'The page could not start: {msg}',
  'status.none': '',
  'update.ready': 'A new version of the playground is ready: reload to use it',
  'input.title': 'Input',
  'input.seen': 'What the models see (28×28)',
  'input.drawing': 'Your drawing',
  'input.test': 'Test image {i}, label {label}',
  'draw.label': 'Drawing area: draw one digit with a mouse, finger or pen',
  'draw.clear': 'Clear',
  'draw.hint': 'Draw a digit; the predictions update as you draw.',
  'test.title': 'MNIST test images',
  'test.index': 'Image number (0–9,999)',
  'test.prev': 'Previous',
  'test.next': 'Next',
  'test.random': 'Random',
  'test.label': 'True label:',
  'test.range': 'Enter a whole number from 0 to {max}.',
  'panel.float': 'Float32 model',
  'panel.pred': 'Prediction',
  'panel.raw': 'Raw output',
  'panel.upload': 'Uploaded: {name}',
  'panel.io': 'output {dtype}, shape [{shape}]',
  'panel.ioq': 'output {dtype}, shape [{shape}], scale {scale}, zero point {zp}',
  'panel.prob': 'digit {d}: {p}',
  'mode.float': 'Float32 (no quantization)',
  'mode.dynamic-range': 'Dynamic range (int8 weights)',
  'mode.full-integer': 'Full integer (float input/output)',
  'mode.integer-only-uint8': 'Integer only, uint8 input/output',
  'mode.integer-only-int8': 'Integer only, int8 input/output',
  'mode.float16': 'Float16 weights (float32 arithmetic)',
  'mode.int16x8': '16x8: int16 activations, int8 weights (float input/output)',
  'mode.int16x8-int16io': '16x8: int16 activations, int8 weights, int16 input/output',
  'options.open': 'More settings, deployment check, comparison',
  'options.close': 'Hide',
  'label.float': 'Float',
  'label.dynamic-range': 'Dynamic range quantized',
  'label.full-integer': 'Full integer quantized',
  'label.integer-only-uint8': 'Quantized',
  'label.integer-only-int8': 'Quantized',
  'label.float16': 'Float16',
  'label.int16x8': '16x8 quantized',
  'label.int16x8-int16io': '16x8 quantized',
  'quant.title': 'Quantization',
  'quant.intro': 'The float model is converted here, in your browser. Conversions that quantize the activations first run the model on the first training images (the representative images) to measure the range of every layer’s output.',
  'quant.mode': 'Conversion',
  'quant.samples': 'Representative images (1–1,000)',
  'quant.time': 'Converted in {ms} ms.',
  'quant.after-training': 'Applied when the training run ends.',
  'quant.failed': 'Could not convert the model: {msg} The previous quantized model is kept.',
  'quant.samples-range': 'Representative images must be a whole number from 1 to 1,000.',
  'quant.panel': '{mode} model',
  'io.model': 'Model',
  'io.input': 'Input',
  'io.output': 'Output',
  'io.size': 'Size',
  'io.float': 'Float model',
  'io.quant': 'Converted model',
  'io.detail': "{dtype}, scale {scale}, zero point {zp}",
  'download.file': 'Download {file} ({size})',
  'download.ratio': 'The converted file is {ratio}× smaller than the float one.',
  'numbers.and': ' and ',
  'numbers.real': 'real',
  'numbers.formula': 'Each output code q stands for a real value: {math} (scale × (q − zero point)).',
  'numbers.float-output': 'This output is {dtype}, computed in float: there are no codes to turn back into real values.',
  'numbers.dequantized-output': 'This output is {dtype}: the model’s last DEQUANTIZE turns its integer codes back into real values itself.',
  'numbers.h-digit': 'Digit',
  'numbers.h-code': 'Code q',
  'numbers.h-real': 'Real value',
  'numbers.h-value': 'Value',
  'numbers.h-float': 'Float model',
  'numbers.h-diff': 'Difference',
  'numbers.h-p': 'Probability',
  'numbers.h-pfloat': 'Float probability',
  'numbers.clipped-title': 'clipped at an end of the type',
  'numbers.tie-title': 'the same code as another digit',
  'numbers.clipped': '⤓ ⤒: the code is at an end of {dtype} ({lo} or {hi}): the real value was clipped there, so a float value beyond it is lost.',
  'numbers.tie': 'Tie: digits {digits} have the same code {q}, so their real values and probabilities ({p}) are equal. The model answers {first}, the first of them, as argmax does: not a bug, but 256 levels too coarse to tell them apart.',
  'numbers.tie-float': 'The float model, which keeps them apart, answers {d}.',
  'numbers.ties': '= marks digits that share a code: their real values are equal after quantization.',
  'numbers.size': 'Why not 4× smaller: {small} are 8-bit weights, but {wide} stay 32-bit (biases, shapes) and {rest} are the graph, names and quantization parameters, which do not shrink.',
  'size.kb': '{n} KB',
  'inside.title': 'See inside the quantization',
  'inside.intro': 'The model graph with each tensor’s type, scale and zero point; the error each layer adds, and what keeping layers in float buys; one output of a layer computed by hand from its integers. It all runs in the background worker.',
  'inside.open': 'Open',
  'inside.close': 'Close',
  'inside.load-failed': 'This part of the page could not load: {msg}',
  'train.title': 'Train from scratch',
  'train.intro': 'Trains the tutorial’s CNN (Adam, Keras defaults) in a background worker. The 60,000 training images (about 10 MB) are downloaded when you start. When it finishes, the new model replaces the current one and is quantized at once.',
  'train.epochs': 'Epochs',
  'train.batch': 'Batch size',
  'train.lr': 'Learning rate',
  'train.seed': 'Seed',
  'train.images': 'Training images',
  'train.start': 'Start training',
  'train.cancel': 'Cancel',
  'train.download': 'Download',
  'train.progress': 'Training',
  'train.loaded': '{got} of {total} MB',
  'train.text': 'Epoch {epoch}/{epochs}, step {step}/{steps}, {rate} steps/s, {eta} left',
  'train.s-idle': '',
  'train.s-downloading': 'Downloading the training set…',
  'train.s-decompressing': 'Unpacking the training set…',
  'train.s-training': 'Training…',
  'train.s-validating': 'Validating on 10,000 test images…',
  'train.s-quantizing': 'Quantizing the new model…',
  'train.s-cancelling': 'Cancelling…',
  'train.s-cancelled': 'Cancelled; the previous model is kept.',
  'train.s-done': 'Trained in {s} s: done',
  'train.s-failed': 'Training stopped.',
  'train.failed': 'Training failed: {msg} The previous model is kept.',
  'train.range': '{field} must be from {min} to {max}.',
  'chart.label': 'Loss and accuracy during training',
  'chart.loss': 'loss',
  'chart.acc': 'accuracy',
  'chart.val': 'validation accuracy',
  'eval.title': 'Evaluate on 10,000 test images',
  'eval.start': 'Evaluate',
  'eval.progress': '{done} of {total} images',
  'eval.sentence': '{label} model accuracy is {acc}% (Number of test samples={n})',
  'eval.time': '{label}: {s} s',
  'eval.times': 'Time in the worker: {list}.',
  'eval.agree': 'The float and the converted model agree on {pct}% of the images; {n} differ.',
  'eval.differ': 'Images where the two models disagree',
  'eval.differ-hint': 'Select one to open it as the input.',
  'eval.none': 'None.',
  'report.json': 'Save the report (JSON)',
  'report.csv': 'Save the report (CSV)',
  'report.chart': 'Save the chart (PNG)',
  'eval.open': 'Open test image {i}',
  'eval.matrix': '{label}: confusion matrix (rows: true label, columns: prediction)',
  'eval.failed': 'Evaluation failed: {msg}',
  'upload.title': 'Upload a .tflite model',
  'upload.hint': 'Choose a .tflite file or drop one here. It is inspected, and if it takes a 28×28 image it runs on your drawings and in the evaluation.',
  'upload.bad': 'This file is not a model we can read: {msg}',
  'upload.cannot-run': 'The file was read, but it cannot run here: {msg}',
  'upload.too-big': 'The file is {size}; files up to {limit} are accepted.',
  'upload.not-mnist': 'Its input is not a 28×28 image, so it is shown for inspection only.',
  'upload.kept': 'The previously loaded models are kept.',
  'upload.file': 'File',
  'upload.size': 'Size',
  'upload.kind': 'Kind',
  'upload.io': 'Input / output',
  'upload.ops': 'Operators ({n})',
  'upload.tensors': 'Tensors ({n})',
  'upload.h-index': '#',
  'upload.h-name': 'Name',
  'upload.h-type': 'Type',
  'upload.h-shape': 'Shape',
  'upload.h-quant': 'Quantization',
  'upload.h-op': 'Operator',
  'upload.h-options': 'Options',
  'upload.h-inputs': 'Inputs',
  'upload.h-outputs': 'Outputs',
  'upload.perchannel': '{n} scales (axis {axis}), {first}…',
  'footer': 'Nothing leaves your browser: training, quantization and inference run locally in WebAssembly.',
  // teacher walkthrough (issue 14): the input card, the drawing keyboard, the phone strip
  'draw.area': 'Drawing area: draw one digit with a mouse, finger or pen, or with the keyboard',
  'draw.keys': 'Keyboard: the arrow keys move the cross (with Shift in bigger steps), Space or Enter puts the pen down or lifts it, Delete clears. Or choose one of the MNIST test images with Previous, Next or Random.',
  'draw.pen-down': 'Pen down: moving draws.',
  'draw.pen-up': 'Pen up.',

  // teacher walkthrough (issue 14): evaluation, training chart, which float model

  // teacher walkthrough (issue 14): conversion, tables, Persian
  'table.scroll': 'The table is wider than the page: scroll it sideways for the other columns.',
  'download.same-size': 'A float conversion keeps every weight in 32 bits: the file is as large as the float one.',
  'quant.samples-unused': '{mode} does not calibrate: the representative images are not used.',
  'panels.label': 'Predictions',
  'panel.bars': 'Probability of each digit',

};

const fa = {
  dir: 'rtl',
  skip: 'رفتن به زمین بازی',
  title: 'زمین بازی کوانتیزه‌سازی پس از آموزش',
  lede: 'آموزش MNIST تنسورفلو، به‌طور کامل در مرورگر شما: یک شبکهٔ کانولوشنی float32 و نسخهٔ فقط‌صحیح uint8 آن، تبدیل‌شده به فایل‌های واقعی .tflite و اجراشده با مفسری صحیح و بیت‌به‌بیت دقیق که به WebAssembly کامپایل شده است.',
  language: 'زبان',
  'status.wasm': 'در حال بارگیری ماژول WebAssembly…',
  'status.data': 'در حال بارگیری مدل و تصاویر آزمون…',
  'status.quantizing': 'کوانتیزه‌سازی با {n} تصویر نماینده…',
  'status.ready': 'آماده: هر دو مدل بارگیری شدند ({ms} میلی‌ثانیه).',
  'status.failed': 'صفحه نتوانست آغاز شود: {msg}',
  'status.none': '',
  'update.ready': 'نسخهٔ تازه‌ای از این صفحه آماده است: برای استفاده از آن صفحه را دوباره بارگیری کنید',
  'input.title': 'ورودی',
  'input.seen': 'آنچه مدل‌ها می‌بینند (۲۸×۲۸)',
  'input.drawing': 'نقاشی شما',
  'input.test': 'تصویر آزمون {i}، برچسب {label}',
  'draw.label': 'ناحیهٔ نقاشی: یک رقم با موشواره، انگشت یا قلم بکشید',
  'draw.clear': 'پاک کردن',
  'draw.hint': 'یک رقم بکشید؛ پیش‌بینی‌ها هم‌زمان با کشیدن به‌روز می‌شوند.',
  'test.title': 'تصاویر آزمون MNIST',
  'test.index': 'شمارهٔ تصویر (۰ تا ۹٬۹۹۹)',
  'test.prev': 'قبلی',
  'test.next': 'بعدی',
  'test.random': 'تصادفی',
  'test.label': 'برچسب درست:',
  'test.range': 'عددی صحیح از ۰ تا {max} وارد کنید.',
  'panel.float': 'مدل float32',
  'panel.pred': 'پیش‌بینی',
  'panel.raw': 'خروجی خام',
  'panel.upload': 'بارگذاری‌شده: {name}',
  'panel.io': 'خروجی {dtype}، شکل [{shape}]',
  'panel.ioq': 'خروجی {dtype}، شکل [{shape}]، مقیاس {scale}، نقطهٔ صفر {zp}',
  'panel.prob': 'رقم {d}: {p}',
  'mode.float': 'float32 (بدون کوانتیزه‌سازی)',
  'mode.dynamic-range': 'بازهٔ پویا (وزن‌های int8)',
  'mode.full-integer': 'تمام‌صحیح (ورودی و خروجی float)',
  'mode.integer-only-uint8': 'فقط صحیح، ورودی و خروجی uint8',
  'mode.integer-only-int8': 'فقط صحیح، ورودی و خروجی int8',
  'mode.float16': 'وزن‌های float16 (محاسبهٔ float32)',
  'mode.int16x8': '16x8: فعال‌سازی‌های int16، وزن‌های int8 (ورودی و خروجی float)',
  'mode.int16x8-int16io': '16x8: فعال‌سازی‌های int16، وزن‌های int8، ورودی و خروجی int16',
  'options.open': 'تنظیمات بیشتر، بررسی استقرار، مقایسه',
  'options.close': 'پنهان کردن',
  'label.float': 'مدل float',
  'label.dynamic-range': 'مدل کوانتیزه با بازهٔ پویا',
  'label.full-integer': 'مدل کوانتیزهٔ تمام‌صحیح',
  'label.integer-only-uint8': 'مدل کوانتیزه',
  'label.integer-only-int8': 'مدل کوانتیزه',
  'label.float16': 'مدل float16',
  'label.int16x8': 'مدل کوانتیزهٔ 16x8',
  'label.int16x8-int16io': 'مدل کوانتیزهٔ 16x8',
  'quant.title': 'کوانتیزه‌سازی',
  'quant.intro': 'مدل float همین‌جا، در مرورگر شما، تبدیل می‌شود. تبدیل‌هایی که فعال‌سازی‌ها را کوانتیزه می‌کنند، نخست مدل را روی نخستین تصاویر آموزشی (تصاویر نماینده) اجرا می‌کنند تا بازهٔ خروجی هر لایه را اندازه بگیرند.',
  'quant.mode': 'نوع تبدیل',
  'quant.samples': 'تصاویر نماینده (۱ تا ۱٬۰۰۰)',
  'quant.time': 'تبدیل در {ms} میلی‌ثانیه انجام شد.',
  'quant.after-training': 'پس از پایان آموزش اعمال می‌شود.',
  'quant.failed': 'تبدیل مدل ممکن نشد: {msg} مدل کوانتیزهٔ قبلی نگه داشته شد.',
  'quant.samples-range': 'شمار تصاویر نماینده باید عددی صحیح از ۱ تا ۱٬۰۰۰ باشد.',
  'quant.panel': '{mode}',
  'io.model': 'مدل',
  'io.input': 'ورودی',
  'io.output': 'خروجی',
  'io.size': 'اندازه',
  'io.float': 'مدل float',
  'io.quant': 'مدل تبدیل‌شده',
  'io.detail': '{dtype}، مقیاس {scale}، نقطهٔ صفر {zp}',
  'download.file': 'دریافت {file} ({size})',
  'download.ratio': 'فایل تبدیل‌شده {ratio} برابر کوچک‌تر از فایل float است.',
  'numbers.and': ' و ',
  'numbers.real': 'حقیقی',
  'numbers.formula': 'هر کد خروجی q نمایندهٔ یک مقدار حقیقی است: {math} (مقیاس × (q − نقطهٔ صفر)).',
  'numbers.float-output': 'این خروجی {dtype} است و با float حساب شده: کدی نیست که به مقدار حقیقی برگردد.',
  'numbers.dequantized-output': 'این خروجی {dtype} است: DEQUANTIZE پایانی مدل خودش کدهای صحیح را به مقدار حقیقی برمی‌گرداند.',
  'numbers.h-digit': 'رقم',
  'numbers.h-code': 'کد q',
  'numbers.h-real': 'مقدار حقیقی',
  'numbers.h-value': 'مقدار',
  'numbers.h-float': 'مدل float',
  'numbers.h-diff': 'اختلاف',
  'numbers.h-p': 'احتمال',
  'numbers.h-pfloat': 'احتمال مدل float',
  'numbers.clipped-title': 'بریده‌شده در یکی از دو سر بازهٔ نوع',
  'numbers.tie-title': 'همان کد رقمی دیگر',
  'numbers.clipped': '⤓ ⤒: کد در یکی از دو سر {dtype} است ({lo} یا {hi}): مقدار حقیقی همان‌جا بریده شده و مقدار float فراتر از آن از دست رفته است.',
  'numbers.tie': 'تساوی: رقم‌های {digits} کد یکسان {q} دارند، پس مقدار حقیقی و احتمالشان ({p}) برابر است. مدل {first} را برمی‌گزیند، نخستینِ آن‌ها، همان‌گونه که argmax می‌کند: این خطا نیست، ۲۵۶ سطح برای جدا کردن آن‌ها کافی نیست.',
  'numbers.tie-float': 'مدل float که آن‌ها را از هم جدا نگه می‌دارد، {d} را برمی‌گزیند.',
  'numbers.ties': '= رقم‌هایی را نشان می‌دهد که کد مشترک دارند: مقدار حقیقی آن‌ها پس از کوانتیزه‌سازی برابر است.',
  'numbers.size': 'چرا نه ۴ برابر کوچک‌تر: {small} وزن‌های ۸ بیتی است، اما {wide} ۳۲ بیتی می‌ماند (بایاس‌ها، شکل‌ها) و {rest} گراف، نام‌ها و پارامترهای کوانتیزه‌سازی است که کوچک نمی‌شوند.',
  'size.kb': '{n} کیلوبایت',
  'inside.title': 'درون کوانتیزه‌سازی را ببینید',
  'inside.intro': 'گراف مدل با نوع، مقیاس و نقطهٔ صفر هر تانسور؛ خطایی که هر لایه می‌افزاید و آنچه نگه‌داشتن لایه‌ها در float به دست می‌دهد؛ یک خروجی از یک لایه که با دست از روی عددهای صحیحش محاسبه می‌شود. همه در worker پس‌زمینه اجرا می‌شود.',
  'inside.open': 'باز کردن',
  'inside.close': 'بستن',
  'inside.load-failed': 'این بخش از صفحه بارگیری نشد: {msg}',
  'train.title': 'آموزش از صفر',
  'train.intro': 'شبکهٔ کانولوشنی آموزش (Adam با پیش‌فرض‌های Keras) در یک worker پس‌زمینه آموزش می‌بیند. ۶۰٬۰۰۰ تصویر آموزشی (حدود ۱۰ مگابایت) هنگام شروع بارگیری می‌شوند. در پایان، مدل تازه جایگزین مدل فعلی و بی‌درنگ کوانتیزه می‌شود.',
  'train.epochs': 'دوره‌ها (epoch)',
  'train.batch': 'اندازهٔ دسته',
  'train.lr': 'نرخ یادگیری',
  'train.seed': 'بذر تصادفی',
  'train.images': 'تصاویر آموزشی',
  'train.start': 'شروع آموزش',
  'train.cancel': 'لغو',
  'train.download': 'بارگیری',
  'train.progress': 'آموزش',
  'train.loaded': '{got} از {total} مگابایت',
  'train.text': 'دورهٔ {epoch}/{epochs}، گام {step}/{steps}، {rate} گام در ثانیه، {eta} مانده',
  'train.s-idle': '',
  'train.s-downloading': 'در حال بارگیری مجموعهٔ آموزشی…',
  'train.s-decompressing': 'در حال باز کردن مجموعهٔ آموزشی…',
  'train.s-training': 'در حال آموزش…',
  'train.s-validating': 'اعتبارسنجی روی ۱۰٬۰۰۰ تصویر آزمون…',
  'train.s-quantizing': 'کوانتیزه‌سازی مدل تازه…',
  'train.s-cancelling': 'در حال لغو…',
  'train.s-cancelled': 'لغو شد؛ مدل قبلی نگه داشته شد.',
  'train.s-done': 'آموزش در {s} ثانیه انجام شد',
  'train.s-failed': 'آموزش متوقف شد.',
  'train.failed': 'آموزش ناموفق بود: {msg} مدل قبلی نگه داشته شد.',
  'train.range': '{field} باید از {min} تا {max} باشد.',
  'chart.label': 'خطا و دقت در طول آموزش',
  'chart.loss': 'خطا',
  'chart.acc': 'دقت',
  'chart.val': 'دقت اعتبارسنجی',
  'eval.title': 'ارزیابی روی ۱۰٬۰۰۰ تصویر آزمون',
  'eval.start': 'ارزیابی',
  'eval.progress': '{done} از {total} تصویر',
  'eval.sentence': 'دقت {label} برابر {acc}٪ است (شمار نمونه‌های آزمون={n})',
  'eval.time': '{label}: {s} ثانیه',
  'eval.times': 'زمان در worker: {list}.',
  'eval.agree': 'مدل float و مدل تبدیل‌شده روی {pct}٪ تصاویر هم‌نظرند؛ {n} تصویر متفاوت است.',
  'eval.differ': 'تصاویری که دو مدل دربارهٔ آن‌ها هم‌نظر نیستند',
  'eval.differ-hint': 'یکی را برگزینید تا به‌عنوان ورودی باز شود.',
  'eval.none': 'هیچ.',
  'report.json': 'ذخیرهٔ گزارش (JSON)',
  'report.csv': 'ذخیرهٔ گزارش (CSV)',
  'report.chart': 'ذخیرهٔ نمودار (PNG)',
  'eval.open': 'باز کردن تصویر آزمون {i}',
  'eval.matrix': '{label}: ماتریس درهم‌ریختگی (سطرها: برچسب درست، ستون‌ها: پیش‌بینی)',
  'eval.failed': 'ارزیابی ناموفق بود: {msg}',
  'upload.title': 'بارگذاری مدل .tflite',
  'upload.hint': 'یک فایل .tflite برگزینید یا اینجا رها کنید. فایل بررسی می‌شود و اگر ورودی آن تصویر ۲۸×۲۸ باشد، روی نقاشی‌های شما و در ارزیابی اجرا می‌شود.',
  'upload.bad': 'این فایل مدلی نیست که بتوانیم بخوانیم: {msg}',
  'upload.cannot-run': 'فایل خوانده شد اما اینجا اجرا نمی‌شود: {msg}',
  'upload.too-big': 'اندازهٔ فایل {size} است؛ فایل‌های تا {limit} پذیرفته می‌شوند.',
  'upload.not-mnist': 'ورودی آن تصویر ۲۸×۲۸ نیست، پس فقط برای بررسی نمایش داده می‌شود.',
  'upload.kept': 'مدل‌های قبلی نگه داشته شدند.',
  'upload.file': 'فایل',
  'upload.size': 'اندازه',
  'upload.kind': 'نوع',
  'upload.io': 'ورودی / خروجی',
  'upload.ops': 'عملگرها ({n})',
  'upload.tensors': 'تانسورها ({n})',
  'upload.h-index': '#',
  'upload.h-name': 'نام',
  'upload.h-type': 'نوع',
  'upload.h-shape': 'شکل',
  'upload.h-quant': 'کوانتیزه‌سازی',
  'upload.h-op': 'عملگر',
  'upload.h-options': 'گزینه‌ها',
  'upload.h-inputs': 'ورودی‌ها',
  'upload.h-outputs': 'خروجی‌ها',
  'upload.perchannel': '{n} مقیاس (محور {axis})، {first}…',
  'footer': 'هیچ چیز از مرورگر شما بیرون نمی‌رود: آموزش، کوانتیزه‌سازی و استنتاج به‌صورت محلی در WebAssembly اجرا می‌شوند.',
  // teacher walkthrough (issue 14): the input card, the drawing keyboard, the phone strip
  'draw.area': 'ناحیهٔ نقاشی: یک رقم با موشواره، انگشت یا قلم بکشید، یا با صفحه‌کلید',
  'draw.keys': 'صفحه‌کلید: کلیدهای جهت‌نما علامت بعلاوه را جابه‌جا می‌کنند (با Shift گام‌های بزرگ‌تر)، Space یا Enter قلم را پایین می‌گذارد یا برمی‌دارد، Delete پاک می‌کند. یا یکی از تصاویر آزمون MNIST را با «قبلی»، «بعدی» یا «تصادفی» برگزینید.',
  'draw.pen-down': 'قلم پایین: با جابه‌جایی، خط کشیده می‌شود.',
  'draw.pen-up': 'قلم بالا.',

  // teacher walkthrough (issue 14): evaluation, training chart, which float model

  // teacher walkthrough (issue 14): conversion, tables, Persian
  'table.scroll': 'جدول از صفحه پهن‌تر است: برای دیدن ستون‌های دیگر، آن را به پهلو بکشید.',
  'download.same-size': 'تبدیل float همهٔ وزن‌ها را ۳۲ بیتی نگه می‌دارد: فایل به اندازهٔ فایل float است.',
  'quant.samples-unused': '{mode} کالیبره نمی‌کند: تصاویر نماینده به کار نمی‌روند.',
  'panels.label': 'پیش‌بینی‌ها',
  'panel.bars': 'احتمال هر رقم',

};

export const tables = { en, fa };
let lang = 'en';

export function language() { return lang; }

/** Number formatters by language and options: building one costs far more than using it, and the
 * prediction panels format a few hundred numbers per stroke. */
const formatters = new Map();

/** Format a number for the current language (Persian digits and separators in fa). */
export function num(x, options) {
  const key = options ? `${lang} ${JSON.stringify(options)}` : lang;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(lang, options);
    formatters.set(key, f);
  }
  return f.format(x);
}

/** Format a value for a placeholder: numbers per locale, everything else as text. */
function show(v) {
  return typeof v === 'number' ? num(v) : String(v);
}

/** A run of Latin text inside right-to-left text: a word with a Latin letter (`.tflite`, `float:`,
 * `ptq convert --deny`, `[1, 28, 28, 1]`), continued over single spaces while the next word is Latin
 * too. */
const LATIN_RUN = /[^\s\u0600-\u06ff\u2066-\u2069]*[A-Za-z][^\s\u0600-\u06ff\u2066-\u2069]*(?: (?=[^\s\u0600-\u06ff]*[A-Za-z0-9])[^\s\u0600-\u06ff\u2066-\u2069]+)*/g;

/** In a right-to-left language, each Latin run is put in a left-to-right isolate (U+2066 … U+2069), so
 * that its own punctuation stays with it (".tflite" does not turn into "tflite.", "float: 0.44 s"
 * keeps its order). */
export function isolate(text) {
  return tables[lang].dir === 'rtl' ? text.replace(LATIN_RUN, (run) => `\u2066${run}\u2069`) : text;
}

/** The text for `key` with `{name}` placeholders replaced. Unknown keys fall back to English. */
export function t(key, vars = {}) {
  const text = tables[lang][key] ?? en[key] ?? key;
  return isolate(text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? show(vars[name]) : m)));
}

/** A list of items as the language writes it (", " or "، "). */
export function list(items) {
  return items.join(lang === 'fa' ? '، ' : ', ');
}

/** Like t(), but a placeholder whose value is a DOM node is put in as that node. */
export function tNodes(key, vars = {}) {
  const text = tables[lang][key] ?? en[key] ?? key;
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(/\{(\w+)\}/g)) {
    frag.append(isolate(text.slice(last, m.index)));
    const v = vars[m[1]];
    frag.append(v instanceof Node ? v : v === undefined ? m[0] : isolate(show(v)));
    last = m.index + m[0].length;
  }
  frag.append(isolate(text.slice(last)));
  return frag;
}

/** Switch the language: sets lang/dir on <html> and fills every data-i18n element under `root`. */
export function setLanguage(code, root = document) {
  lang = code in tables ? code : 'en';
  document.documentElement.lang = lang;
  document.documentElement.dir = tables[lang].dir;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  document.title = t('title');
}
