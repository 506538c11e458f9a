/**
 * Session identifiers and resume keys: 128 random bits each, base64url. The key is stored
 * only as a SHA-256 hash; checks compare hashes in constant time (crypto.timingSafeEqual,
 * inside the store) so timing reveals nothing about the key.
 */
import { createHash, randomBytes } from 'node:crypto';

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export function newResumeKey(): string {
  return randomBytes(16).toString('base64url');
}

/**
 * SHA-256 of the key, its first 128 bits in base64url (22 characters): as strong as the
 * 128-bit key it hashes, and kept for every session (64 hex characters cost ~40 bytes more
 * per idle session; docs/performance.md, "memory per connection").
 */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest().subarray(0, 16).toString('base64url');
}
