import type { FastifyPluginAsync } from 'fastify'
import { ConfigPath, lti11ConfigurationXml } from '../../onboarding/tool-configuration.js'

/** GET /lti/1.1/config.xml: the LTI 1.1 tool configuration (Common Cartridge basic LTI link). */
const config: FastifyPluginAsync = async (app) => {
  const body = lti11ConfigurationXml({ publicUrl: app.config.PUBLIC_URL, title: app.config.LTI_TOOL_TITLE, description: app.config.LTI_TOOL_DESCRIPTION })
  app.get(ConfigPath.lti11, async (_request, reply) => reply
    .header('cache-control', 'public, max-age=300')
    .type('application/xml; charset=utf-8')
    .send(body))
}

export default config
