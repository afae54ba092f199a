"""Slack's own SDK as a conformance oracle for the payloads incidentbot sends.

Usage: python slack_sdk_oracle.py DIR

Each DIR/*-message.json is a message body (blocks, text); each DIR/*-view.json is a
modal view. Every one is parsed with slack_sdk.models (Block.parse_all, View) and
validate_json() is called on every model object inside it, nested ones included:
an actions block does not validate its buttons by itself. Any error fails (exit 1).
"""

import json
import pathlib
import sys

from slack_sdk.models import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

# Slack's documented count limits, which slack_sdk does not check on a message.
BLOCKS_PER_MESSAGE = 50
BLOCKS_PER_VIEW = 100


def walk(obj, path, errors):
    """Validates obj and every model object it holds."""
    if isinstance(obj, JsonObject):
        try:
            obj.validate_json()
        except Exception as error:  # slack_sdk raises SlackObjectFormationError and others
            errors.append(f"{path}: {type(obj).__name__}: {error}")
        for name, value in vars(obj).items():
            walk(value, f"{path}.{name}", errors)
    elif isinstance(obj, (list, tuple)):
        for n, item in enumerate(obj):
            walk(item, f"{path}[{n}]", errors)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            walk(value, f"{path}.{key}", errors)


def check_blocks(raw, limit, path, errors):
    if not isinstance(raw, list):
        errors.append(f"{path}: blocks is not a list")
        return
    if len(raw) > limit:
        errors.append(f"{path}: {len(raw)} blocks, more than {limit}")
    parsed = Block.parse_all(raw)
    for n, (block, source) in enumerate(zip(parsed, raw)):
        if block is None or type(block) is Block:
            errors.append(f"{path}[{n}]: slack_sdk does not know block {source.get('type')!r}")
            continue
        walk(block, f"{path}[{n}]", errors)


def check_file(file, errors):
    payload = json.loads(file.read_text())
    name = file.name
    if name.endswith("-view.json"):
        view = View(**payload)
        walk(view, f"{name}: view", errors)
        check_blocks(payload.get("blocks", []), BLOCKS_PER_VIEW, f"{name}: blocks", errors)
    else:
        text = payload.get("text")
        if not isinstance(text, str) or not text.strip():
            errors.append(f"{name}: a message needs a fallback text")
        check_blocks(payload.get("blocks", []), BLOCKS_PER_MESSAGE, f"{name}: blocks", errors)


def main():
    folder = pathlib.Path(sys.argv[1])
    files = sorted(folder.glob("*.json"))
    errors = []
    for file in files:
        try:
            check_file(file, errors)
        except Exception as error:
            errors.append(f"{file.name}: {type(error).__name__}: {error}")
    if errors:
        print("\n".join(errors))
        print(f"{len(errors)} problems in {len(files)} payloads")
        sys.exit(1)
    print(f"{len(files)} payloads valid")


if __name__ == "__main__":
    main()
