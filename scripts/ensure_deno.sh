# Sourced by the other scripts: puts Deno 2.9.6 on PATH, from the npm registry.
DENO_VERSION=2.9.6
if ! command -v deno >/dev/null 2>&1 || ! deno --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  echo "Installing deno@$DENO_VERSION from the npm registry..." >&2
  if [ "$(id -u)" = 0 ]; then
    npm install -g "deno@$DENO_VERSION" >&2
  else
    npm install --prefix "$HOME/.local" -g "deno@$DENO_VERSION" >&2 && export PATH="$HOME/.local/bin:$PATH"
  fi || {
    echo "error: Cannot install deno@$DENO_VERSION with npm: install Node.js and npm (apt-get install npm), then run this again" >&2
    exit 1
  }
fi
export RUST_BACKTRACE=0
