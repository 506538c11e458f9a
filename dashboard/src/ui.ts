/** Shared bits of the panels: an error shown in a panel's message line, two-step buttons. */
import { ApiError } from './api.js';
import { text } from './dom.js';

export function showError(el: HTMLElement, error: unknown): void {
  el.className = 'msg error';
  text(el, error instanceof ApiError ? `${error.code}: ${error.message}` : String(error));
}

/** Armed two-step buttons and until when (entries past their time are dropped). */
const armed = new Map<string, number>();

/** Whether the two-step button `key` is armed now (its label reads "Confirm …"). */
export function isArmed(key: string): boolean {
  return Date.now() < (armed.get(key) ?? 0);
}

/** A two-step button: the first press arms it for 3 s, the second acts. */
export function confirmStep(
  key: string,
  button: HTMLButtonElement,
  label: string,
  act: () => void,
): void {
  const until = armed.get(key) ?? 0;
  if (Date.now() < until) {
    armed.delete(key);
    act();
    return;
  }
  const now = Date.now();
  for (const [k, until] of armed) if (until <= now) armed.delete(k);
  armed.set(key, now + 3000);
  button.textContent = `Confirm ${label}`;
  setTimeout(() => {
    if (button.isConnected) button.textContent = label;
  }, 3000);
}
