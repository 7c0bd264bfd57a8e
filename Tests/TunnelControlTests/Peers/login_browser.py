#!/usr/bin/env python3
"""A real browser through the login page: headless Chromium (Debian's `chromium`) driven by Playwright.

    login_browser.py URL USER PASSWORD CODE [ZONE]

Opens the sign-in URL that `tunnelctl login` printed, checks that the page shows CODE (the login
code the terminal printed) and that every visible field has a label, then uses the keyboard only:
types the user name into the focused field, Tab, the password, Enter; on the zone page picks ZONE
(default: the first) with the arrow keys, Tab to the Approve button, Enter. Prints one JSON line
{"ok": true, ...} and exits 0; prints the problem on stderr and exits 1 otherwise.

The browser is the system's (CHROMIUM env, else /usr/bin/chromium): Playwright's own download is
not used.
"""
import json, os, shutil, sys

from playwright.sync_api import sync_playwright


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def unlabeled_fields(page):
    return page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter(e => e.type !== 'hidden')
        .filter(e => e.tagName === 'BUTTON' ? !e.textContent.trim() : e.labels.length === 0)
        .map(e => e.outerHTML)""")


def focused(page):
    return page.evaluate("() => document.activeElement && (document.activeElement.name || document.activeElement.tagName)")


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    url, user, password, code = sys.argv[1:5]
    zone = sys.argv[5] if len(sys.argv) == 6 else None
    chromium = os.environ.get('CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=['--no-sandbox'])
        try:
            page = browser.new_page()
            response = page.goto(url)
            if response is None or response.status != 200:
                fail(f'sign-in page: status {response and response.status}')
            shown = page.locator('#login-code').inner_text()
            if shown != code:
                fail(f'login code on the page is {shown!r}, the terminal printed {code!r}')
            if unlabeled_fields(page):
                fail(f'fields without a label: {unlabeled_fields(page)}')
            if focused(page) != 'user':
                fail(f'the user name field is not focused first (focus: {focused(page)})')
            page.keyboard.type(user)
            page.keyboard.press('Tab')
            page.keyboard.type(password)
            with page.expect_navigation():
                page.keyboard.press('Enter')
            if page.locator('input[name=zone]').count() == 0:
                fail('no zone picker after signing in: ' + page.locator('main').inner_text())
            if unlabeled_fields(page):
                fail(f'fields without a label: {unlabeled_fields(page)}')
            zones = page.locator('input[name=zone]')
            names = [zones.nth(i).evaluate('e => e.labels[0].textContent.trim()') for i in range(zones.count())]
            if focused(page) != 'zone':
                fail(f'the first zone is not focused (focus: {focused(page)})')
            target = names.index(zone) if zone else 0
            for _ in range(target):
                page.keyboard.press('ArrowDown')
            checked = page.locator('input[name=zone]:checked').evaluate('e => e.labels[0].textContent.trim()')
            if checked != names[target]:
                fail(f'arrow keys picked {checked!r}, wanted {names[target]!r}')
            page.keyboard.press('Tab')
            if page.evaluate('() => document.activeElement.textContent.trim()') != 'Approve':
                fail('Tab from the zones does not reach the Approve button')
            with page.expect_navigation():
                page.keyboard.press('Enter')
            approved = page.locator('#approved')
            if approved.count() == 0:
                fail('no approval: ' + page.locator('main').inner_text())
            print(json.dumps({'ok': True, 'zones': names, 'picked': names[target], 'approved': approved.inner_text()}), flush=True)
        finally:
            browser.close()


if __name__ == '__main__':
    main()
