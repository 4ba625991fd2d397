/**
 * The errors of the PVC data agent. Callers branch on the class, never on the message:
 * - `AgentUsageError`: the agent's own flags or files are wrong (exit code 2 at start);
 * - `CommandRefusedError`: an SSH client asked for something the agent does not allow (a shell, another
 *   program, an option or a path outside its volume); the message is sent back to the client;
 * - `VolumeNotFoundError`: the volume a key is authorized for is not on this node (or not laid out as the
 *   kubelet lays out volumes);
 * - `AuthorizedKeysError`: the authorized-keys file cannot be read or is not in the agent's format.
 */

/** Bad flags or unreadable startup files (host key): the agent does not start. */
export class AgentUsageError extends Error {
  override readonly name = "AgentUsageError";
}

/** A client's command is refused. The message is safe to show to the client. */
export class CommandRefusedError extends Error {
  override readonly name = "CommandRefusedError";
}

/** The volume of a key's grant cannot be found under the kubelet root, or is not a plain folder. */
export class VolumeNotFoundError extends Error {
  override readonly name = "VolumeNotFoundError";
}

/** The authorized-keys file (or folder) cannot be read or parsed as a whole. */
export class AuthorizedKeysError extends Error {
  override readonly name = "AuthorizedKeysError";
}
