// The fixed part of the exported rewards.py: Tunelab's built-in GRPO rewards (src/engine/train/grpo/rewards/
// builtin-rewards.ts, answer-match.ts and the GSM8K filters of src/engine/eval/suites/gsm8k.ts) in Python,
// keeping JavaScript's rules where the two languages differ (trim's and \s's whitespace set, String(number),
// "??" versus "or" on empty strings, JSON.parse refusing NaN), a callable per reward in TRL's signature
// (prompts, completions, **columns) -> list[float], and the runner of a custom JavaScript reward in a `node`
// process. The run's own part (patterns, weights, columns) is appended by grpo-rewards-py.ts. Kept as raw text:
// Python's backslashes stay as written.

export const PYTHON_REWARDS_RUNTIME = String.raw`from __future__ import annotations

import functools
import json
import math
import queue
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ECMAScript's WhiteSpace and LineTerminator: what JavaScript's trim() removes and its \s matches.
JS_SPACE = (
    "\t\n\x0b\x0c\r \xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
JS_SPACE_RUN = re.compile("[" + re.escape(JS_SPACE) + "]+")


class RewardCallError(Exception):
    """One completion could not be scored: it gets 0, as in Tunelab."""


class RewardSetupError(Exception):
    """A reward cannot run at all (node missing, the JavaScript is not a function): training stops."""


def js_trim(text: str) -> str:
    return text.strip(JS_SPACE)


def js_number_string(value) -> str:
    """JavaScript's String(value): shortest round-trip digits, an exponent only below 1e-6 or from 1e21."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    mantissa, _, exponent = repr(abs(x)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    scale = int(exponent or 0) - len(fraction)
    while digits.endswith("0"):
        digits = digits[:-1]
        scale += 1
    k = len(digits)
    n = scale + k  # value = 0.digits x 10^n (ECMA-262 Number::toString)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * (-n) + digits
    else:
        power = n - 1
        text = digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if power >= 0 else "-") + str(abs(power))
    return ("-" if x < 0 else "") + text


# lm-evaluation-harness's GSM8K filters, as Tunelab's answer-match reads them.
GSM8K_INVALID = "[invalid]"
STRICT = re.compile(r"#### (\-?[0-9\.\,]+)")
FLEXIBLE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
EXAMPLE_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def regex_filter(pattern: re.Pattern, select: int, response: str) -> str:
    """The harness's RegexFilter: findall, the select-th match, its first non-empty group, trimmed."""
    matches = list(pattern.finditer(response))
    if not matches:
        return GSM8K_INVALID
    groups = matches[select].groups()
    if len(groups) == 0:
        value = matches[select].group(0)
    elif len(groups) == 1:
        value = groups[0] if groups[0] is not None else ""
    else:
        value = next((g for g in groups if g is not None and g != ""), GSM8K_INVALID)
    return js_trim(value)


def found(answer: str) -> str | None:
    return None if answer == GSM8K_INVALID else answer


def extract_final_answer(completion: str, pattern: re.Pattern | None) -> str | None:
    if pattern is not None:
        return found(regex_filter(pattern, -1, completion))
    strict = found(regex_filter(STRICT, 0, completion))
    return strict if strict is not None else found(regex_filter(FLEXIBLE, -1, completion))


def expected_answer(example: dict) -> str:
    answer = example.get("answer")
    if isinstance(answer, (int, float)) and not isinstance(answer, bool) and math.isfinite(answer):
        return js_number_string(answer)
    if not isinstance(answer, str):
        raise RewardCallError("the example has no answer to compare with: answer-match reads example.answer (a string or number)")
    if "####" not in answer:
        return js_trim(answer)
    strict = regex_filter(STRICT, 0, answer)
    return strict if strict != GSM8K_INVALID else js_trim(answer[answer.rfind("####") + 4 :])


def parse_answer_number(text: str) -> float | None:
    cleaned = re.sub(r"[,$]", "", js_trim(text))
    if cleaned.endswith("."):
        cleaned = cleaned[:-1]
    return float(cleaned) if NUMBER.fullmatch(cleaned) else None


def normalise_answer_text(text: str) -> str:
    text = JS_SPACE_RUN.sub(" ", js_trim(text.lower()))
    if text.endswith("."):
        text = text[:-1]
    return js_trim(text)


def answers_match(predicted: str, expected: str) -> bool:
    a = parse_answer_number(predicted)
    b = parse_answer_number(expected)
    if a is not None and b is not None:
        return a == b
    return normalise_answer_text(predicted) == normalise_answer_text(expected)


def answer_match_reward(completion: str, example: dict, pattern: re.Pattern | None = None) -> float:
    expected = expected_answer(example)
    predicted = extract_final_answer(completion, pattern)
    return 1.0 if predicted is not None and answers_match(predicted, expected) else 0.0


def regex_reward(completion: str, example: dict, pattern: re.Pattern) -> float:
    return 1.0 if pattern.search(completion) else 0.0


def fill_example_fields(template: str, example: dict) -> str:
    def field(match: re.Match) -> str:
        value = example.get(match.group(1))
        if isinstance(value, str):
            return value
        if isinstance(value, (bool, int, float)):
            return js_number_string(value)
        raise RewardCallError(f'the example has no field "{match.group(1)}" to fill {{{match.group(1)}}}')

    return EXAMPLE_FIELD.sub(field, template)


def contains_reward(completion: str, example: dict, template: str, present: float) -> float:
    return present if fill_example_fields(template, example) in completion else 1.0 - present


def length_reward(completion: str, example: dict, target: float) -> float:
    words = len([w for w in JS_SPACE_RUN.split(completion) if w != ""])
    return min(1.0, max(0.0, 1 - abs(words - target) / target))


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def json_reward(completion: str, example: dict) -> float:
    text = js_trim(completion)
    if text == "":
        return 0.0
    try:
        json.loads(text, parse_constant=_refuse_constant)
        return 1.0
    except Exception:
        return 0.0


NODE_STARTUP_SECONDS = 30.0


class NodeReward:
    """A custom JavaScript reward run by node (rewards/<name>.cjs): one JSON request and reply a line."""

    def __init__(self, script: str, time_limit_ms: float):
        self.script = HERE / script
        self.time_limit_ms = time_limit_ms
        self.process = None
        self.replies = None

    def __getstate__(self):
        return {"script": self.script, "time_limit_ms": self.time_limit_ms, "process": None, "replies": None}

    @staticmethod
    def _read(stdout, replies: queue.Queue) -> None:
        for line in stdout:
            replies.put(line)
        replies.put(None)

    def start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise RewardSetupError(f"{self.script.name}: this reward is JavaScript and needs node (Node.js 18 or later) on the PATH")
        self.process = subprocess.Popen(
            [node, str(self.script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1
        )
        self.replies = queue.Queue()
        threading.Thread(target=self._read, args=(self.process.stdout, self.replies), daemon=True).start()
        try:
            first = self.replies.get(timeout=NODE_STARTUP_SECONDS)
        except queue.Empty:
            first = None
        reply = json.loads(first) if first else {"fatal": "node exited or did not answer"}
        if "fatal" in reply:
            self.stop()
            raise RewardSetupError(f"{self.script.name}: {reply['fatal']}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def __call__(self, completion: str, example: dict) -> float:
        if self.process is None or self.process.poll() is not None:
            self.start()
        self.process.stdin.write(json.dumps({"completion": completion, "example": example}) + "\n")
        self.process.stdin.flush()
        try:
            line = self.replies.get(timeout=self.time_limit_ms / 1000)
        except queue.Empty:
            self.stop()
            raise RewardCallError(f"timed out after {js_number_string(self.time_limit_ms)} ms") from None
        if line is None:
            self.stop()
            raise RewardCallError("node exited while scoring")
        reply = json.loads(line)
        if "error" in reply:
            raise RewardCallError(reply["error"])
        return reply["score"]


def completion_text(completion) -> str:
    """The completion as Tunelab's rewards see it: its text, cut before the first stop string."""
    if isinstance(completion, str):
        text = completion
    else:  # conversational: [{"role": "assistant", "content": ...}]
        text = "".join(m.get("content") or "" for m in completion if m.get("role") == "assistant")
    cut = min((i for i in (text.find(s) for s in STOP_STRINGS) if i >= 0), default=len(text))
    return text[:cut]


def examples_from(columns: dict, count: int) -> list[dict]:
    """Each completion's example: the dataset's columns under the record's own field names."""
    examples = [{} for _ in range(count)]
    for column, field in EXAMPLE_COLUMNS.items():
        values = columns.get(column)
        if values is None:
            continue
        for example, value in zip(examples, values):
            if value is not None:
                example[field] = value
    return examples


class Reward:
    """One reward in TRL's form; __name__ names its metric (rewards/<name>/mean), as in Tunelab."""

    def __init__(self, name: str, score):
        self.__name__ = name
        self.score = score
        self.reported = 0

    def __call__(self, prompts, completions, **columns) -> list[float]:
        examples = examples_from(columns, len(completions))
        values, failures = [], 0
        for completion, example in zip(completions, examples):
            try:
                value = self.score(completion_text(completion), example)
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                    raise RewardCallError(f"returned {value!r}, not a finite number")
                values.append(float(value))
            except RewardSetupError:
                raise
            except Exception as error:  # noqa: BLE001 - a failed call scores 0, as in Tunelab
                values.append(0.0)
                failures += 1
                if self.reported < 5:
                    self.reported += 1
                    print(f"reward {self.__name__}: {type(error).__name__}: {error} (scored 0)", file=sys.stderr)
        log_metric = columns.get("log_metric")
        if log_metric is not None:
            log_metric(f"reward_errors/{self.__name__}", float(failures))
        return values


def check_rewards() -> None:
    """Starts every JavaScript reward once, so a missing node or a broken function stops before training."""
    for reward in REWARD_FUNCS:
        score = reward.score
        if isinstance(score, NodeReward):
            score.start()
`;
