import fp from 'fastify-plugin'
import { createAccountResolver, type AccountResolver } from '../src/launch/account-resolver.js'
import { createHandoff, type Handoff } from '../src/launch/handoff.js'
import { createLti11LaunchService, type Lti11LaunchService } from '../src/launch/lti11/launch.js'

declare module 'fastify' {
  interface FastifyInstance {
    lti11Launch: Lti11LaunchService
    /** Shared by LTI 1.1 and 1.3 (one enrollment cache); undefined when LMS_URL is not set. */
    launchAccounts: AccountResolver | undefined
    launchHandoff: Handoff | undefined
    /** Launch hooks other plugins subscribe to (the event consumer's relevance set). */
    launchEvents: { onNewLearner: Array<(lmsUserId: number) => void> }
  }
}

/** The launch services shared by the LTI 1.1 and 1.3 routes. */
export default fp(async (app) => {
  const c = app.config
  const lms = app.lmsClient
  const accounts = lms ? createAccountResolver({ lms, emailDomain: c.LMS_USER_EMAIL_DOMAIN }) : undefined
  const handoff = lms
    ? createHandoff({
        mode: c.LMS_SESSION_HANDOFF,
        lmsUrl: lms.lmsUrl,
        publicOrigin: c.publicOrigin,
        relay: c.LMS_RELAY_CONSUMER_KEY && c.LMS_RELAY_CONSUMER_SECRET ? { consumerKey: c.LMS_RELAY_CONSUMER_KEY, consumerSecret: c.LMS_RELAY_CONSUMER_SECRET } : undefined,
        tokenLoginPath: c.LMS_TOKEN_LOGIN_PATH,
        signingKey: () => app.toolKeys.signingKey()
      })
    : undefined
  app.decorate('launchAccounts', accounts)
  app.decorate('launchHandoff', handoff)
  const launchEvents = { onNewLearner: [] as Array<(lmsUserId: number) => void> }
  app.decorate('launchEvents', launchEvents)
  app.decorate('lti11Launch', createLti11LaunchService({
    knex: app.knex,
    secretBox: app.secretBox,
    publicUrl: c.PUBLIC_URL,
    allowLoopbackHttp: c.OUTBOUND_ALLOW_LOOPBACK_HTTP,
    accounts,
    handoff,
    log: app.log,
    onNewLearner: id => { for (const fn of launchEvents.onNewLearner) fn(id) }
  }))
}, { name: 'launch', dependencies: ['db', 'secret-box', 'tool-keys', 'lms'] })
