// Search keys: "Nguyễn Văn Đức" and "nguyen van duc" fold to the same string.
export function fold(text) {
  return String(text ?? '')
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

export function digitsOnly(text) {
  return String(text ?? '').replace(/\D/g, '');
}

/**
 * The same text in a fresh string. normalize() leaves two-byte strings behind even once only
 * ASCII is left; rebuilt from single characters, V8 stores them one byte per character, and
 * searching 50,000 of them gets several times faster.
 */
export function compact(text) {
  return text.split('').join('');
}
