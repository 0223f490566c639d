// Series colours and the stable colour of each person.

export const palette = [
  "#3d8bfd", "#20c997", "#fd7e14", "#d63384", "#6f42c1", "#ffc107", "#0dcaf0", "#dc3545",
  "#198754", "#adb5bd",
];

const people = ["#e8590c", "#2f9e44", "#1c7ed6", "#ae3ec9", "#f08c00", "#0c8599", "#e03131", "#5f3dc4"];

/** personColor gives a user the same colour on every screen. */
export function personColor(userId: string): string {
  let h = 0;
  for (const ch of userId) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return people[h % people.length];
}

export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  if (parts.length === 0) return "?";
  if (parts.length === 1) return parts[0].slice(0, 2).toUpperCase();
  return (parts[0][0] + parts[parts.length - 1][0]).toUpperCase();
}
