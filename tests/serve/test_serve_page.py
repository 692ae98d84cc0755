"""The page of `chainrule serve` in a real headless browser: draw a '1', read the prediction shown."""

import shutil
import threading
import time

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
uvicorn = pytest.importorskip("uvicorn")

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (BROWSER and DRIVER), reason="needs Chromium and chromedriver (Debian: "
                                "apt-get install chromium chromium-driver); .ci/run installs them")


@pytest.fixture()
def page_url(digit_model):
    from chainrule.serve import create_app

    app = create_app(digit_model, name="mlp")
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (server.started and server.servers) and time.monotonic() < deadline:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1000,800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    yield driver
    driver.quit()


def test_drawing_a_one_on_the_canvas_shows_the_predicted_one(page_url, browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page_url)
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: b.find_element(By.ID, "digits").is_displayed())
    canvas = browser.find_element(By.ID, "draw")
    # a vertical stroke through the middle of the 280x280 canvas (offsets are from its centre)
    strokes = ActionChains(browser).move_to_element_with_offset(canvas, 2, -100).click_and_hold()
    for _ in range(20):
        strokes.move_by_offset(0, 10)
    strokes.release().perform()
    shown = wait.until(lambda b: b.find_element(By.ID, "prediction").text.strip() or None)
    browser.save_screenshot(str(tmp_path / "page.png"))
    assert shown == "1"
    bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
    assert len(bars) == 10 and "top" in bars[1].get_attribute("class")
    fill, track = (bars[1].find_element(By.CSS_SELECTOR, part) for part in (".fill", ".track"))
    assert fill.size["width"] > 0.5 * track.size["width"]  # the bar is drawn, as long as its probability
    # the saliency layer was painted: some of its pixels are no longer transparent
    painted = browser.execute_script(
        "const d = document.getElementById('saliency').getContext('2d').getImageData(0, 0, 280, 280).data;"
        "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n;")
    assert painted > 100
    assert (tmp_path / "page.png").stat().st_size > 10_000


def test_the_page_shows_a_refusal_as_a_message(page_url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(page_url)
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "digits").is_displayed())
    message = browser.execute_async_script(
        "const done = arguments[0];"
        "call('/predict', '{\"inputs\": [[1]]}', 'application/json').catch(e => done(e.message));")
    assert "this model takes (batch, 784)" in message
