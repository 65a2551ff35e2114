// A real OpenID provider for the sign-in tests: panva's certified `oidc-provider` on loopback,
// with its development login page (any password), the clients and people the test names, and
// a `groups` claim. Reads a JSON configuration from standard input:
//   {"port": 0, "clients": [{client_id, client_secret, redirect_uris, post_logout_redirect_uris}],
//    "accounts": {"alice": {"groups": ["sre"], "email": "alice@example.com"}}}
// and prints one line `ready <issuer>` once it listens.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(0, 'utf8'));
const accounts = config.accounts || {};

const server = createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: config.clients,
    pkce: { required: () => true },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
      groups: ['groups'],
    },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    // Everyone at this company is asked only for a password: consent is the company's.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, id) {
      const person = accounts[id];
      if (!person) return undefined;
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            preferred_username: person.preferred_username ?? id,
            name: person.name ?? id,
            email: person.email ?? `${id}@example.com`,
            email_verified: true,
            groups: person.groups ?? [],
          };
        },
      };
    },
    cookies: { keys: ['tracker-tests-only-cookie-key'] },
  });
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`ready ${issuer}\n`);
});
