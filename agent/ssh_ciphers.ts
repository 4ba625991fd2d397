/**
 * The SSH ciphers the agent offers. An SSH client picks the first cipher of *its own* list that the server
 * also offers (RFC 4253, 7.1), and OpenSSH's list starts with chacha20-poly1305, which ssh2 decrypts at about
 * a third of AES-GCM's speed (docs/agent.md). So offering AES-GCM "first" is not enough: by default the agent
 * offers AES-GCM only, and every OpenSSH client since 6.2 has it.
 */
import type { CipherAlgorithm } from "ssh2";

export const SSH_CIPHERS: {
  /** Offered unless `--ciphers` says otherwise, in this order. */
  readonly offered: readonly CipherAlgorithm[];
  /** What `--ciphers` may name (AEAD and CTR modes ssh2 implements without its native binding). */
  readonly supported: readonly CipherAlgorithm[];
} = {
  offered: ["aes128-gcm@openssh.com", "aes256-gcm@openssh.com"],
  supported: [
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com",
    "aes128-ctr",
    "aes192-ctr",
    "aes256-ctr",
  ],
};
