import { CommanderError } from 'commander';
import { serveGatewayCommand } from '../../src/cli/serve-gateway';

describe('immich-ai serve gateway', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('refuses to start on an invalid configuration, naming the variable', async () => {
    process.env.IMMICH_API = 'not-a-url';
    let stderr = '';
    const command = serveGatewayCommand()
      .exitOverride()
      .configureOutput({ writeErr: (text) => (stderr += text), writeOut: () => undefined });
    const error = await command.parseAsync(['node', 'gateway']).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CommanderError);
    expect((error as CommanderError).exitCode).toBe(1);
    expect(stderr).toContain('IMMICH_API="not-a-url": expected an http(s) URL');
  });

  it('refuses a bad --port before reading anything else', async () => {
    const command = serveGatewayCommand()
      .exitOverride()
      .configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    const error = await command.parseAsync(['node', 'gateway', '--port', 'http']).catch((caught: unknown) => caught);
    expect((error as CommanderError).code).toBe('commander.invalidArgument');
  });
});
