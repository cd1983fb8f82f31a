/** Variables whose values are never repeated in messages, and never handed to child processes. */
export const SECRET_VARIABLES = ['DIGITALOCEAN_TOKEN', 'AZURE_CLIENT_SECRET', 'BLUEGREEN_NOTIFY_SECRET', 'BLUEGREEN_NOTIFY_URLS'] as const;

/** Names that look like credentials whoever set them (the operator's own shell may hold some). */
const SECRET_NAME = /(^|_)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIALS?|API_KEY|ACCESS_KEY)(_|$)/i;

/** True for a variable that holds a secret: one of ours, or one named like a credential. */
export function isSecretVariable(name: string): boolean {
  return (SECRET_VARIABLES as readonly string[]).includes(name) || SECRET_NAME.test(name);
}
