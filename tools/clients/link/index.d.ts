// Types of the connect page's frontend SDK (index.js).

export interface LinkSuccess {
  /** The linked (or re-authorized) account's id. */
  integratedAccountId: string;
  /** The provider the customer chose, e.g. "podio". */
  provider: string;
  /** The `state` given to CreateLinkSession. */
  state: string;
}

export interface LinkExit {
  /**
   * Why nothing was linked: the page's reason ("access_denied",
   * "cancelled", ...), "closed" (the popup was closed) or "timeout".
   */
  reason: string;
  state?: string;
}

export interface OpenLinkOptions {
  /** CreateLinkSession's `url`. */
  url: string;
  onSuccess?: (result: LinkSuccess) => void;
  onExit?: (result: LinkExit) => void;
  /** Gives up after this long; default 15 minutes. */
  timeoutMs?: number;
  /** The window to open from; default the global one. */
  window?: Window;
}

export interface LinkHandle {
  /** True when popups were blocked and this window went to the page. */
  redirected: boolean;
  /** Closes the popup; onExit gets "closed". */
  close(): void;
}

export function openLink(options: OpenLinkOptions): LinkHandle;
