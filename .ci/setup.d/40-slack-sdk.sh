# Slack's official Python SDK, used as a conformance oracle: the Slack payload tests
# parse every block and view the bot sends with `slack_sdk.models` and validate them.
# Installs into a venv under $HOME/.cache/incidentbot and exports SLACK_SDK_PYTHON,
# the interpreter the tests run `bot/tests/slack_sdk_oracle.py` with.
slack_sdk_venv="$HOME/.cache/incidentbot/venv-slack-sdk"
if ! "$slack_sdk_venv/bin/python" -c 'import slack_sdk.models' 2>/dev/null; then
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        apt_install python3-venv
    fi
    python3 -m venv "$slack_sdk_venv"
    "$slack_sdk_venv/bin/python" -m pip install --quiet --disable-pip-version-check 'slack_sdk>=3.27,<4'
fi
export SLACK_SDK_PYTHON="$slack_sdk_venv/bin/python"
