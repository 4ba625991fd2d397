/** What a client needs to reach one cluster as one user: a kubeconfig context, resolved. */
export interface ClusterAccess {
  readonly contextName: string;
  readonly server: string;
  readonly namespace: string | undefined;
  readonly caPem: string | undefined;
  readonly certPem: string | undefined;
  readonly keyPem: string | undefined;
  readonly skipTlsVerify: boolean;
  readonly token: string | undefined;
  /** Read again at most once a minute (projected tokens rotate). */
  readonly tokenFile: string | undefined;
  readonly basicAuth: { readonly username: string; readonly password: string } | undefined;
  readonly impersonate: string | undefined;
  /** Set when an exec plugin or auth provider computes the credentials. */
  readonly pluginAuth: { readonly text: string; readonly context: string; readonly dir: string } | undefined;
}
