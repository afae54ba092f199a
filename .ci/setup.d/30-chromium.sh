# Headless Chromium and its WebDriver, for the web pages' browser tests (bot/tests/it/web_browser.rs).
# Debian's packages: `chromium` and `chromium-driver`. The tests start chromedriver themselves
# and give Chromium a fresh profile each run; they find both on PATH, or where
# INCIDENTBOT_CHROMIUM and INCIDENTBOT_CHROMEDRIVER point.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    apt_install chromium chromium-driver
fi
# Fonts for the screenshots the tests save: without them emoji and CJK text (which the
# tests type on purpose) show as empty boxes.
if ! dpkg -s fonts-noto-color-emoji fonts-wqy-zenhei >/dev/null 2>&1; then
    apt_install fonts-noto-color-emoji fonts-wqy-zenhei
fi
