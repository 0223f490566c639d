// Draws the app's icons: the SVG and the PNGs (192 and 512 pixels) that the manifest names.
// Run with `node scripts/icons.mjs` after changing the drawing; the PNGs are committed, so a
// build needs no image tools. The drawing is three rising bars on a rounded square, in the
// app's accent colour, described once (shapes) and rendered both ways.
import { writeFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import { URL } from "node:url";
import { deflateSync } from "node:zlib";

const background = [0x1f, 0x6f, 0xeb];
const foreground = [0xff, 0xff, 0xff];
// In a 512-unit square: the corner radius and the bars (x, y, width, height).
const radius = 96;
const bars = [
  [112, 272, 72, 128],
  [220, 192, 72, 208],
  [328, 112, 72, 288],
];

const hex = (c) => "#" + c.map((v) => v.toString(16).padStart(2, "0")).join("");

function svg() {
  const rects = bars.map(([x, y, w, h]) => `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="12" fill="${hex(foreground)}"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512"><rect width="512" height="512" rx="${radius}" fill="${hex(background)}"/>${rects.join("")}</svg>\n`;
}

// colourAt samples the drawing at (x, y) in 512-unit space: 0 transparent, 1 background, 2 bar.
function colourAt(x, y) {
  const cx = Math.min(Math.max(x, radius), 512 - radius);
  const cy = Math.min(Math.max(y, radius), 512 - radius);
  if ((x - cx) ** 2 + (y - cy) ** 2 > radius ** 2) return 0;
  return bars.some(([bx, by, w, h]) => x >= bx && x < bx + w && y >= by && y < by + h) ? 2 : 1;
}

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "ascii");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

// png renders the drawing at size pixels, RGBA, four samples a pixel for smooth edges.
function png(size) {
  const rows = [];
  const scale = 512 / size;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // filter byte 0: none
    for (let x = 0; x < size; x++) {
      const acc = [0, 0, 0, 0];
      for (const [dx, dy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]]) {
        const c = colourAt((x + dx) * scale, (y + dy) * scale);
        if (c === 0) continue;
        const rgb = c === 1 ? background : foreground;
        for (let i = 0; i < 3; i++) acc[i] += rgb[i];
        acc[3] += 255;
      }
      const n = acc[3] / 255;
      for (let i = 0; i < 3; i++) row[1 + x * 4 + i] = n ? Math.round(acc[i] / n) : 0;
      row[1 + x * 4 + 3] = Math.round(acc[3] / 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk("IHDR", header), chunk("IDAT", deflateSync(Buffer.concat(rows), { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

const dir = new URL("../public/icons/", import.meta.url);
writeFileSync(new URL("icon.svg", dir), svg());
for (const size of [192, 512]) writeFileSync(new URL(`icon-${size}.png`, dir), png(size));
