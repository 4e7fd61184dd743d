#!/usr/bin/env python3
"""browser-e2e.py — drive `audit serve` in Debian's headless Chromium (Selenium + chromium-driver).

    scripts/browser-e2e.py --base http://127.0.0.1:PORT --reviewer ID --passphrase P --run RUN \
        --case CASE --min-seconds N --screenshots DIR

Signs in, reads the worklist, opens the case (blind first read: the page must not hold the model's
answer), records a read, waits out the policy's minimum review time shown on the page, signs with the
passphrase, and checks the signed report version carries the manifestation. Also: a case id carrying
a script payload renders inert (no dialog, no element), and a POST without the CSRF token is refused.
Saves a screenshot of every page. Prints one JSON line; exit 0 only when every check passed.
Needs: chromium and chromium-driver (Debian), selenium (PyPI). Never downloads a browser.
"""
import argparse, json, os, shutil, sys, time, urllib.parse

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--reviewer", required=True)
    ap.add_argument("--passphrase", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--case", required=True)
    ap.add_argument("--read-class", required=True)
    ap.add_argument("--min-seconds", type=float, required=True)
    ap.add_argument("--screenshots", required=True)
    a = ap.parse_args()
    os.makedirs(a.screenshots, exist_ok=True)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        print(json.dumps({"ok": False, "error": "chromium or chromedriver not found (apt-get install chromium chromium-driver)"}))
        return 2
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1366,768", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    checks, shots = {}, []

    def shot(name):
        path = os.path.join(a.screenshots, f"{len(shots) + 1:02d}-{name}.png")
        driver.save_screenshot(path)
        shots.append(path)

    def check(name, ok, detail=""):
        checks[name] = {"ok": bool(ok), "detail": detail}

    try:
        case_href = f"{a.base}/cases/{urllib.parse.quote(a.run, safe='')}/{urllib.parse.quote(a.case, safe='')}"
        driver.get(a.base + "/")
        check("redirected to sign-in", driver.current_url.endswith("/sign-in"), driver.current_url)
        shot("sign-in")
        driver.find_element(By.NAME, "reviewer").send_keys(a.reviewer)
        driver.find_element(By.NAME, "passphrase").send_keys(a.passphrase)
        driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
        WebDriverWait(driver, 30).until(lambda d: "Worklist" in d.title)
        check("worklist lists the case", a.case in driver.page_source)
        shot("worklist")

        driver.get(case_href)
        source = driver.page_source
        check("blinded page has no answer", "calibrated probability" not in source and "Prediction set" not in source
              and "/report" not in source, "")
        check("blind read form shown", "Blind first read" in source)
        shot("blind-read")
        Select(driver.find_element(By.NAME, "class")).select_by_value(a.read_class)
        driver.find_element(By.CSS_SELECTOR, "form[action$='/read'] button").click()
        WebDriverWait(driver, 30).until(lambda d: "calibrated probability" in d.page_source)
        check("answer shown after the read", True)
        shot("case-unblinded")

        timer = driver.find_element(By.CSS_SELECTOR, ".timer")
        remaining = int(timer.get_attribute("data-remaining") or "0")
        check("remaining time shown", 0 < remaining <= a.min_seconds + 1, str(remaining))
        button = driver.find_element(By.CSS_SELECTOR, ".sign button[type=submit]")
        check("sign button disabled while waiting", not button.is_enabled())
        WebDriverWait(driver, a.min_seconds + 15).until(lambda d: d.find_element(By.CSS_SELECTOR, ".sign button[type=submit]").is_enabled())
        time.sleep(1.0)  # the server's clock, not the page's, decides: give it a margin
        driver.find_element(By.CSS_SELECTOR, ".sign input[name=passphrase]").send_keys(a.passphrase)
        driver.find_element(By.CSS_SELECTOR, ".sign textarea[name=note]").send_keys("Signed in the browser end-to-end test.")
        shot("sign-form")
        driver.find_element(By.CSS_SELECTOR, ".sign button[type=submit]").click()
        WebDriverWait(driver, 60).until(lambda d: "Signed: case" in d.page_source or "Refused" in d.title)
        check("signed", "Signed: case" in driver.page_source, driver.title)
        shot("signed")
        frame = driver.find_element(By.CSS_SELECTOR, "iframe.report")
        driver.switch_to.frame(frame)
        report = driver.page_source
        driver.switch_to.default_content()
        check("manifestation in the new report version", a.reviewer in report and "review" in report.lower())

        # A script payload in a case id stays text.
        payload = "<img src=x onerror=alert(1)>"
        driver.get(f"{a.base}/cases/{urllib.parse.quote(a.run, safe='')}/{urllib.parse.quote(payload, safe='')}")
        try:
            driver.switch_to.alert
            alert = True
        except NoAlertPresentException:
            alert = False
        inert = not alert and not driver.find_elements(By.CSS_SELECTOR, "main img") and payload in driver.find_element(By.TAG_NAME, "main").text
        check("script payload renders inert", inert, driver.find_element(By.TAG_NAME, "main").text[:200])
        shot("payload")

        # A POST without the CSRF token is refused: a same-origin form with the session cookie but no
        # token (the page's CSP forbids fetch altogether: connect-src falls back to 'none').
        driver.get(case_href)
        driver.execute_script("""
            const f = document.createElement('form');
            f.method = 'post'; f.action = arguments[0];
            const i = document.createElement('input');
            i.name = 'class'; i.value = arguments[1]; f.appendChild(i);
            document.body.appendChild(f); f.submit();
        """, case_href + "/read", a.read_class)
        WebDriverWait(driver, 30).until(lambda d: "Not allowed" in d.page_source or "Refused" in d.page_source)
        check("POST without CSRF token refused", "CSRF token is missing" in driver.page_source, driver.find_element(By.TAG_NAME, "main").text[:200])
        shot("csrf-refused")

        # Governance-only page is refused to a reviewer.
        driver.get(a.base + "/oversight")
        check("oversight refused to a reviewer", "Not allowed" in driver.page_source)
        shot("oversight-refused")
    except Exception as e:  # report, never hang
        check("no exception", False, repr(e))
        try:
            shot("failure")
        except Exception:
            pass
    finally:
        driver.quit()
    ok = all(c["ok"] for c in checks.values())
    print(json.dumps({"ok": ok, "checks": checks, "screenshots": shots}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
