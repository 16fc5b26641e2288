// Print the cases of cases.mjs with their generated Python as JSON (read by check_tf_code.py).
import { CASES } from './cases.mjs';

process.stdout.write(JSON.stringify(CASES, null, 1));
