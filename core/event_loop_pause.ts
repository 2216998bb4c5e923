/**
 * Letting the event loop run in the middle of long synchronous work.
 *
 * @module
 */

/**
 * Lets the event loop run once (signal listeners, timers, I/O): a message to
 * ourselves is a macrotask like `setTimeout(0)`, without its ~2 ms wait.
 * `close()` it after use: an open port keeps the process alive.
 */
export class EventLoopPause {
  #channel: MessageChannel | undefined;
  #resume: (() => void) | undefined;

  run(): Promise<void> {
    if (!this.#channel) {
      this.#channel = new MessageChannel();
      this.#channel.port1.onmessage = () => this.#resume?.();
    }
    const channel = this.#channel;
    return new Promise((resolve) => {
      this.#resume = resolve;
      channel.port2.postMessage(null);
    });
  }

  close(): void {
    this.#channel?.port1.close();
    this.#channel?.port2.close();
  }
}
