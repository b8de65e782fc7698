import fp from 'fastify-plugin'
import type { AccountResolver } from '../src/launch/account-resolver.js'
import type { Handoff } from '../src/launch/handoff.js'
import type { Lti11LaunchService } from '../src/launch/lti11/launch.js'
import type { LaunchEvents } from '../src/compose/services.js'

declare module 'fastify' {
  interface FastifyInstance {
    lti11Launch: Lti11LaunchService
    /** Shared by LTI 1.1 and 1.3 (one enrollment cache); undefined when LMS_URL is not set. */
    launchAccounts: AccountResolver | undefined
    launchHandoff: Handoff | undefined
    /** Listeners told about each newly mapped learner (the relevance set is always told, by the services). */
    launchEvents: LaunchEvents
  }
}

/** The launch services shared by the LTI 1.1 and 1.3 routes. */
export default fp(async (app) => {
  const launch = app.services.launch
  app.decorate('launchAccounts', launch.accounts)
  app.decorate('launchHandoff', launch.handoff)
  app.decorate('launchEvents', launch.events)
  app.decorate('lti11Launch', launch.lti11)
}, { name: 'launch', dependencies: ['services', 'tool-keys'] })
