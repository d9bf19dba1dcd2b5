#!/usr/bin/env bash
# Packs what `node bench/gpu.mjs` needs on a GPU machine that has no network and maybe no Node (issue #20 item 4):
# the Node binary, the project's runtime packages (no dev tools), and — for the bench only, never as project
# dependencies — the `webgpu` package (Dawn for Node, its linux-x64 binary only) and @tensorflow/tfjs-backend-webgpu
# of the same version as @tensorflow/tfjs. Output: .gpu/bundle.tar.xz (~30 MB), and .gl/ with Debian's Vulkan
# loader (Dawn needs libvulkan.so.1). Both folders must be in .git/info/exclude; the device call carries them.
set -euo pipefail
cd "$(dirname "$0")/.."
tfjs=$(node -p "require('@tensorflow/tfjs/package.json').version")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/node_modules" "$work/bin" .gpu .gl
for d in node_modules/* node_modules/@*; do
  case $(basename "$d") in
    @biomejs | typescript | vitest | vite | rollup | @rollup | esbuild | @esbuild | @vitest | @types | core-js | chai) ;;
    *) cp -r "$d" "$work/node_modules/" ;;
  esac
done
(cd "$work" && npm pack -q "webgpu@0.6.2" "@tensorflow/tfjs-backend-webgpu@$tfjs" > /dev/null)
mkdir -p "$work/x" "$work/node_modules/webgpu/dist/linux-x64"
tar xzf "$work"/tensorflow-tfjs-backend-webgpu-*.tgz -C "$work/x" && mv "$work/x/package" "$work/node_modules/@tensorflow/tfjs-backend-webgpu"
tar xzf "$work"/webgpu-*.tgz -C "$work/x"
cp "$work/x/package/index.js" "$work/x/package/package.json" "$work/node_modules/webgpu/"
cp "$work/x/package/dist/linux-x64/dawn.node" "$work/node_modules/webgpu/dist/linux-x64/"
# Each TF.js package is loaded through its package.json `main` (CommonJS) in Node: keep that file and the wasm
# binaries, drop the other bundles, typings and source maps (280 MB → 11 MB).
(
  cd "$work/node_modules"
  for p in @tensorflow/*; do
    main=$(node -p "require('./$p/package.json').main")
    find "$p" -type f ! -path "$p/package.json" ! -path "$p/$main" ! -name '*.wasm' ! -name '*worker*.js' -delete
  done
  find . \( -name '*.map' -o -name '*.d.ts' -o -name '*.md' \) -delete
)
cp "$(readlink -f "$(command -v node)")" "$work/bin/node"
tar cf - -C "$work" bin node_modules | xz -T2 -6 > .gpu/bundle.tar.xz
mkdir -p /tmp/amd64/partial
o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
apt-get "${o[@]}" update -q > /dev/null
(cd .gl && apt-get "${o[@]}" download libvulkan1 2> /dev/null)
ls -la .gpu .gl
