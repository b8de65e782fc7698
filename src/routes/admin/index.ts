import { errorCodes, type FastifyPluginAsync } from 'fastify'
import type { AdminServices } from '../../admin/admin-services.js'
import { createAdminAuth } from './auth.js'
import keys from './keys.js'
import consumers from './consumers.js'
import registrations from './registrations.js'
import passbacks from './passbacks.js'
import registrationInvites from './registration-invites.js'

/**
 * /admin/api/v1: registered only when ADMIN_TOKEN is set. Every route below shares the bearer check
 * (an encapsulated onRequest hook), so a new admin route cannot forget it. The services are the
 * same ones the CLI drives (src/admin), built once by the composition root (src/compose).
 */
const admin: FastifyPluginAsync<{ token: string, services: AdminServices }> = async (app, opts) => {
  app.addHook('onRequest', createAdminAuth(opts.token))
  // The admin API speaks JSON only: a form or text body is 415, not parsed by the app-wide form parser.
  app.addHook('onRequest', async (request) => {
    const hasBody = Number(request.headers['content-length'] ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined
    if (hasBody && !/^application\/json\s*(;|$)/i.test(request.headers['content-type'] ?? '')) {
      throw new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(String(request.headers['content-type'] ?? 'none'))
    }
  })
  // JSON must be UTF-8 (RFC 8259 §8.1): the default parser turns invalid bytes into U+FFFD, which
  // then passes the schemas and is stored as an identifier nobody typed. Same parser otherwise.
  const parseJson = app.getDefaultJsonParser('error', 'error')
  const utf8 = new TextDecoder('utf-8', { fatal: true })
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string
    try {
      text = utf8.decode(body as Buffer)
    } catch {
      done(Object.assign(new Error('The request body is not valid UTF-8.'), { statusCode: 400 }), undefined)
      return
    }
    parseJson(request, text, done)
  })
  const services = opts.services
  await app.register(keys)
  await app.register(consumers, { services })
  await app.register(registrations, { services })
  await app.register(passbacks, { services })
  await app.register(registrationInvites, { services })
}

export default admin
