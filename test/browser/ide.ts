// Drives code-server in a real browser: Debian's chromium, headless, through
// playwright-core (which downloads nothing: it is given the installed binary).
// What a person does on opening a gitspace: the workbench loads on the repo's
// folder, the explorer lists the repository, no trust prompt is in the way,
// the integrated terminal opens and answers a command.
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Debian's chromium (apt-get install chromium); GITSPACE_CHROMIUM overrides. */
export const CHROMIUM = process.env.GITSPACE_CHROMIUM ?? '/usr/bin/chromium';

/** The line typed into the terminal, and a marker echoed after it so the answer is known to be complete. */
export const TERMINAL_COMMAND = 'pwd; id -un; echo $HOME';
const DONE = 'GITSPACE-BROWSER-DONE';

export interface IdeVisit {
  url: string;
  /** The terminal's text after the command ran (the command line, its three answers, the marker). */
  terminalText: string;
  /** pwd, id -un and $HOME as the terminal printed them. */
  answers: { pwd: string; user: string; home: string };
  /** Names the explorer shows at the repository's root. */
  explorerNames: string[];
  /** Text of a workspace trust dialog, if one was shown (Docker Gitspace shows none). */
  trustPrompt: string | undefined;
  screenshot: string;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // root in a container: no user namespaces for the sandbox. No GPU and no WebGL: xterm falls back to its
    // DOM renderer, whose rows are text the test reads back.
    args: ['--no-sandbox', '--disable-gpu', '--disable-webgl', '--disable-3d-apis', '--disable-dev-shm-usage'],
  });
}

/** Opens url (http://host:port/?folder=DIR), checks the workbench and runs the terminal command. */
export async function visitIde(browser: Browser, url: string, screenshot: string, log: (m: string) => void): Promise<IdeVisit> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  try {
    log(`open ${url}`);
    // Generous: on a loaded host the workbench's first load takes minutes, not seconds.
    await page.goto(url, { waitUntil: 'commit', timeout: 300_000 });
    await page.locator('.monaco-workbench').waitFor({ timeout: 300_000 });
    // The explorer on the repository: its rows appear once the folder is read.
    const rows = page.locator('.explorer-folders-view .monaco-list-row');
    await rows.first().waitFor({ timeout: 300_000 });
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'README.md' }).waitFor({ timeout: 60_000 });
    const explorerNames = (await rows.allInnerTexts()).map((t) => t.trim()).filter(Boolean);
    const trustPrompt = await trustDialog(page);
    log(`workbench up; explorer: ${explorerNames.join(', ')}`);

    await openTerminal(page);
    const input = page.locator('.terminal-wrapper.active .xterm-helper-textarea, .integrated-terminal .xterm-helper-textarea').first();
    await input.waitFor({ state: 'attached', timeout: 60_000 });
    // The shell is ready when its prompt is drawn: wait for any text in the rows.
    await page.waitForFunction(() => (document.querySelector('.integrated-terminal .xterm-rows') as HTMLElement | null)?.innerText.trim().length, undefined, { timeout: 60_000 });
    const terminalText = await runInTerminal(page, input);
    const text = terminalText.replace(/\u00a0/g, ' ');
    await page.screenshot({ path: screenshot });
    return { url, terminalText: text, answers: parseAnswers(text), explorerNames, trustPrompt, screenshot };
  } catch (err) {
    await page.screenshot({ path: screenshot.replace(/\.png$/, '-failed.png') }).catch(() => undefined);
    throw err;
  } finally {
    await context.close();
  }

  async function openTerminal(p: Page): Promise<void> {
    // The command palette, as a person would: F1, then the command's title. The Welcome walkthrough opens
    // on its own a few seconds after the workbench and takes the focus, which closes a palette opened
    // meanwhile (seen in CI): a person would open it again, and so does this, a few times.
    let last: unknown;
    for (let attempt = 1; attempt <= 4; attempt++) {
      try {
        await p.locator('.monaco-workbench').click({ position: { x: 700, y: 400 } }).catch(() => undefined);
        await p.keyboard.press('F1');
        const box = p.locator('.quick-input-widget input');
        await box.waitFor({ timeout: 30_000 });
        await box.fill('>Terminal: Create New Terminal', { timeout: 10_000 });
        await p.locator('.quick-input-widget .monaco-list-row', { hasText: 'Terminal: Create New Terminal' }).first().waitFor({ timeout: 30_000 });
        await p.keyboard.press('Enter');
        await p.locator('.integrated-terminal .xterm-rows').waitFor({ timeout: attempt < 4 ? 20_000 : 60_000 });
        return;
      } catch (err) {
        last = err;
        log(`terminal not opened (attempt ${attempt}): ${String(err).split('\n')[0]}`);
      }
    }
    throw last;
  }
}

/**
 * Types the command and a marker into the terminal and returns the terminal's text once the marker is
 * printed on a line of its own (the output, not the echo of the typed line). The Welcome walkthrough
 * can take the focus while the line is typed (seen in CI: the shell got only the last characters), so
 * a person would click into the terminal and type it again: each attempt has its own marker.
 */
async function runInTerminal(page: Page, input: Locator): Promise<string> {
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const done = `${DONE}-${attempt}`;
    try {
      await page.locator('.integrated-terminal .xterm-screen').first().click().catch(() => undefined);
      await input.focus();
      if (attempt > 1) {
        // A fresh prompt, whatever a lost attempt left on the line; bash drops what is typed before it
        // has handled the interrupt, so wait for the prompt.
        await page.keyboard.press('Control+C');
        await page.waitForTimeout(1000);
      }
      const line = `${TERMINAL_COMMAND}; echo ${done}`;
      await page.keyboard.type(line, { delay: 10 });
      await page.keyboard.press('Enter');
      const handle = await page.waitForFunction(
        ([typed, marker]) => {
          const lines = ((document.querySelector('.integrated-terminal .xterm-rows') as HTMLElement | null)?.innerText ?? '').split('\n');
          // Whole: the typed line echoed complete (no keystroke lost) and the marker as output.
          const whole = lines.some((l) => l.replace(/\u00a0/g, ' ').includes(typed));
          return whole && lines.some((l) => l.trim() === marker) ? lines.join('\n') : undefined;
        },
        [line, done] as const,
        { timeout: attempt < 3 ? 30_000 : 60_000 },
      );
      return (await handle.jsonValue()) as string;
    } catch (err) {
      last = err;
    }
  }
  throw last;
}

/** A workspace trust dialog or editor, if shown. */
async function trustDialog(page: Page): Promise<string | undefined> {
  const dialog = page.locator('.monaco-dialog-box', { hasText: /trust/i });
  if (await dialog.count()) return (await dialog.first().innerText()).trim();
  const editor = page.locator('.workspace-trust-editor');
  if (await editor.count()) return (await editor.first().innerText()).trim();
  return undefined;
}

/** The three lines after the command's own line (its last one: an attempt may have been typed again): pwd, the user, $HOME. */
export function parseAnswers(text: string): IdeVisit['answers'] {
  const lines = text.split('\n').map((l) => l.trimEnd());
  const at = lines.map((l) => l.includes(TERMINAL_COMMAND)).lastIndexOf(true);
  const out = at < 0 ? [] : lines.slice(at + 1).map((l) => l.trim()).filter(Boolean);
  return { pwd: out[0] ?? '', user: out[1] ?? '', home: out[2] ?? '' };
}
