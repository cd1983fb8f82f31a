/** Looks at the files a configuration names, so a command fails up front (exit 2) instead of half-way. */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import {
  type Config,
  type ConfigNeed,
  type FileFact,
  type FileRequirement,
  fileProblem,
  requiredFiles,
  tlsMismatchProblem,
} from '../../core/config.js';

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/** The data dir may be missing (it is created) if the nearest existing ancestor is a directory. */
function probeDataDir(dir: string): FileFact {
  for (let at = dir; ; at = path.dirname(at)) {
    try {
      return statSync(at).isDirectory() ? { state: 'ok' } : { state: 'wrong-type', at };
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOTDIR') continue; // an ancestor is a file: found further up
      if (code !== 'ENOENT') return { state: 'unreadable', code };
      if (at === path.dirname(at)) return { state: 'ok' };
    }
  }
}

function contentProblem(kind: FileRequirement['kind'], data: Buffer): string | undefined {
  const text = data.toString('latin1');
  switch (kind) {
    case 'deploy-key':
    case 'admin-key': {
      const parsed = ssh2.utils.parseKey(data);
      if (parsed instanceof Error) {
        return /passphrase/i.test(parsed.message)
          ? 'is protected by a passphrase: bluegreen logs in unattended and needs a key without one'
          : 'is not a private key in OpenSSH or PEM format';
      }
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      return key?.isPrivateKey() ? undefined : 'is a public key: give the private key (the file without .pub)';
    }
    case 'tls-cert':
      if (!text.includes('-----BEGIN CERTIFICATE-----')) return 'is not a PEM certificate (-----BEGIN CERTIFICATE-----)';
      try {
        new X509Certificate(data);
        return undefined;
      } catch {
        return 'holds a certificate that cannot be parsed';
      }
    case 'tls-key':
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return 'is not a PEM private key (-----BEGIN PRIVATE KEY-----)';
      if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text)) {
        return 'is protected by a passphrase: the server starts unattended and needs a key without one';
      }
      try {
        createPrivateKey(data);
        return undefined;
      } catch {
        return 'holds a private key that cannot be parsed';
      }
    default:
      return undefined;
  }
}

function probeFile(file: FileRequirement): FileFact {
  if (file.kind === 'data-dir') return probeDataDir(file.path);
  let data: Buffer;
  try {
    if (statSync(file.path).isDirectory()) return { state: 'wrong-type', at: file.path };
    data = readFileSync(file.path);
  } catch (error) {
    const code = errorCode(error);
    return code === 'ENOENT' || code === 'ENOTDIR' ? { state: 'missing' } : { state: 'unreadable', code };
  }
  const why = contentProblem(file.kind, data);
  return why ? { state: 'bad-content', why } : { state: 'ok' };
}

function tlsPairMatches(tls: { cert: string; key: string }): boolean {
  return new X509Certificate(readFileSync(tls.cert)).checkPrivateKey(createPrivateKey(readFileSync(tls.key)));
}

/** Every problem with the files `needs` depend on (empty when all is well), each naming its variable. */
export function checkConfigFiles(config: Config, needs: readonly ConfigNeed[]): string[] {
  const problems: string[] = [];
  let tlsFilesOk = 0;
  for (const file of requiredFiles(config, needs)) {
    const problem = fileProblem(file, probeFile(file), config);
    if (problem) problems.push(problem);
    else if (file.kind === 'tls-cert' || file.kind === 'tls-key') tlsFilesOk++;
  }
  if (tlsFilesOk === 2 && config.tls && !tlsPairMatches(config.tls)) problems.push(tlsMismatchProblem(config.tls));
  return problems;
}
