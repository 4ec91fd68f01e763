# Sourced by the scripts: puts the tools setup.sh installs inside the checkout (and rustup's
# cargo) on PATH, ahead of the system's: .venv's python3 (the reference's packages), and the
# Node that setup installs where Debian's is older than 20.
_gb_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
for _gb_dir in "$HOME/.cargo/bin" "$_gb_root"/.tools/node/node_modules/node-linux-*/bin "$_gb_root/.venv/bin"; do
  if [ -d "$_gb_dir" ]; then
    case ":$PATH:" in *":$_gb_dir:"*) ;; *) PATH="$_gb_dir:$PATH" ;; esac
  fi
done
export PATH
unset _gb_root _gb_dir
