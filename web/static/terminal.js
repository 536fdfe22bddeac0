// KeikoTerminal joins an xterm.js terminal to Keiko's terminal WebSocket.
// The protocol is documented in docs/terminal-protocol.md.
(function () {
  "use strict";

  const OUTPUT = 0x30, HELLO = 0x31, EXIT = 0x32, ERROR = 0x33, GAP = 0x34; // '0'..'4'
  const ACK_EVERY = 32 * 1024; // acknowledge drawn output in steps this big
  const MAX_FRAME = 60 * 1024; // under the server's 64 KiB frame limit
  const encoder = new TextEncoder();

  class KeikoTerminal {
    // element: where to draw; url: the terminal WebSocket URL, without query.
    constructor(element, url, options = {}) {
      this.url = url;
      this.offset = -1; // absolute output offset reached; -1 before the first hello
      this.acked = 0;
      this.readOnly = false;
      this.exited = false;
      this.retry = 0;
      this.onStatus = options.onStatus || (() => {});
      this.term = new Terminal({
        cursorBlink: true,
        fontSize: options.fontSize || 16,
        fontFamily: 'ui-monospace, "Cascadia Mono", "Noto Sans Mono CJK JP", Menlo, monospace',
        scrollback: 5000,
        theme: options.theme,
      });
      this.fit = new FitAddon.FitAddon();
      this.term.loadAddon(this.fit);
      this.term.loadAddon(new WebLinksAddon.WebLinksAddon());
      this.term.open(element);
      this.fit.fit();
      new ResizeObserver(() => this.fit.fit()).observe(element);
      this.term.onData((data) => this.send(data));
      this.term.onResize(({ cols, rows }) => this.frame(0x31, JSON.stringify({ cols, rows })));
      this.term.attachCustomKeyEventHandler((e) => this.clipboardKeys(e));
      this.connect();
    }

    connect() {
      const u = this.offset >= 0 ? `${this.url}?offset=${this.offset}` : this.url;
      const ws = new WebSocket(u.replace(/^http/, "ws"));
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      this.onStatus("connecting");
      ws.onopen = () => {
        this.retry = 0;
        this.frame(0x31, JSON.stringify({ cols: this.term.cols, rows: this.term.rows }));
      };
      ws.onmessage = (ev) => this.receive(new Uint8Array(ev.data));
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        if (this.exited || ev.code === 4000) {
          this.onStatus("exited");
          return;
        }
        // Back off, with jitter so a restarted server is not stormed by a
        // whole room reconnecting at once.
        const delay = Math.min(30000, 500 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
        this.onStatus("reconnecting");
        setTimeout(() => this.connect(), delay);
      };
    }

    receive(f) {
      const body = f.subarray(1);
      switch (f[0]) {
        case OUTPUT:
          this.offset += body.length;
          const reached = this.offset;
          // The callback fires once xterm has parsed the bytes: only then
          // is the output acknowledged, which is what paces a flood.
          this.term.write(body, () => {
            if (reached - this.acked >= ACK_EVERY) {
              this.acked = reached;
              this.frame(0x34, String(reached));
            }
          });
          break;
        case HELLO: {
          const h = JSON.parse(new TextDecoder().decode(body));
          if (this.offset >= 0 && h.offset > this.offset) {
            this.term.write("\r\n\x1b[33m[some output was lost while disconnected]\x1b[0m\r\n");
          }
          this.offset = this.acked = h.offset;
          this.readOnly = h.readOnly;
          this.onStatus(h.readOnly ? "read-only" : "connected");
          break;
        }
        case EXIT: {
          const { code } = JSON.parse(new TextDecoder().decode(body));
          this.exited = true;
          this.term.write(`\r\n\x1b[33m[the shell exited with status ${code}; press Enter for a new one]\x1b[0m\r\n`);
          const sub = this.term.onData((d) => {
            if (d === "\r") {
              sub.dispose();
              this.exited = false;
              this.offset = -1;
              this.term.reset();
              this.connect();
            }
          });
          break;
        }
        case ERROR:
          this.term.write(`\r\n\x1b[31m[${JSON.parse(new TextDecoder().decode(body)).message}]\x1b[0m\r\n`);
          break;
        case GAP:
          this.term.write("\r\n\x1b[33m[output skipped: this view fell behind]\x1b[0m\r\n");
          break;
      }
    }

    // send types data into the shell, split under the frame limit.
    send(data) {
      if (this.readOnly) return;
      const bytes = encoder.encode(data);
      for (let i = 0; i < bytes.length; i += MAX_FRAME) {
        const chunk = bytes.subarray(i, i + MAX_FRAME);
        const f = new Uint8Array(chunk.length + 1);
        f[0] = OUTPUT; // '0', input
        f.set(chunk, 1);
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(f);
      }
    }

    frame(type, text) {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      const body = encoder.encode(text);
      const f = new Uint8Array(body.length + 1);
      f[0] = type;
      f.set(body, 1);
      this.ws.send(f);
    }

    // run types a command for a click-to-run block, after Ctrl-C if asked.
    run(command, { interrupt = false } = {}) {
      if (interrupt) this.send("\x03");
      this.send(command.replace(/\n/g, "\r") + "\r");
      this.term.focus();
    }

    // Ctrl-C copies when text is selected (and interrupts otherwise), as in
    // most terminals; Ctrl-Shift-C and Ctrl-Shift-V copy and paste.
    clipboardKeys(e) {
      if (e.type !== "keydown" || !e.ctrlKey) return true;
      const key = e.key.toLowerCase();
      if (key === "c" && (e.shiftKey || this.term.hasSelection())) {
        navigator.clipboard.writeText(this.term.getSelection());
        e.preventDefault();
        return false;
      }
      if (key === "v" && e.shiftKey) {
        navigator.clipboard.readText().then((t) => this.term.paste(t));
        e.preventDefault();
        return false;
      }
      return true;
    }
  }

  window.KeikoTerminal = KeikoTerminal;
})();
