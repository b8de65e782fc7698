import type { FastifyPluginAsync } from 'fastify'
import { canvasDeveloperKey, ConfigPath, lti13ToolConfiguration, type ToolIdentity } from '../../onboarding/tool-configuration.js'

/**
 * GET /lti/1.3/config and /lti/1.3/config/canvas.json: the tool's LTI 1.3 configuration before any
 * registration exists. Public and cacheable: only URLs derived from PUBLIC_URL and display strings.
 */
const config: FastifyPluginAsync = async (app) => {
  const tool: ToolIdentity = { publicUrl: app.config.PUBLIC_URL, title: app.config.LTI_TOOL_TITLE, description: app.config.LTI_TOOL_DESCRIPTION }
  const ours = lti13ToolConfiguration(tool)
  const canvas = canvasDeveloperKey(tool)
  app.get(ConfigPath.lti13, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(ours))
  app.get(ConfigPath.canvas, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(canvas))
}

export default config
