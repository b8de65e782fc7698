import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AdminServices } from '../../admin/admin-services.js'
import { CommonErrorResponses, ErrorResponseSchema, IdParamsSchema, NoContentSchema } from '../../../schemas/http/admin-common.js'
import { ConsumerCreateSchema, ConsumerListSchema, ConsumerSchema, ConsumerUpdateSchema } from '../../../schemas/http/admin-consumers.js'

/**
 * /lti11/consumers (prefix /admin/api/v1). Thin: schema, one service call, one audit line that
 * names the fields touched but never their values.
 */
const consumers: FastifyPluginAsyncTypebox<{ services: AdminServices }> = async (app, { services }) => {
  app.post('/lti11/consumers', {
    schema: { body: ConsumerCreateSchema, response: { 201: ConsumerSchema, ...CommonErrorResponses, 409: ErrorResponseSchema } }
  }, async (request, reply) => {
    const consumer = await services.consumers.create(request.body)
    request.log.info({ event: 'admin_consumer_created', consumerId: consumer.id }, 'LTI 1.1 consumer created')
    return reply.code(201).send(consumer)
  })

  app.get('/lti11/consumers', {
    schema: { response: { 200: ConsumerListSchema, ...CommonErrorResponses } }
  }, async () => ({ consumers: await services.consumers.list() }))

  app.get('/lti11/consumers/:id', {
    schema: { params: IdParamsSchema, response: { 200: ConsumerSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request) => await services.consumers.get(Number(request.params.id)))

  app.patch('/lti11/consumers/:id', {
    schema: { params: IdParamsSchema, body: ConsumerUpdateSchema, response: { 200: ConsumerSchema, ...CommonErrorResponses, 404: ErrorResponseSchema, 409: ErrorResponseSchema } }
  }, async (request) => {
    const consumer = await services.consumers.update(Number(request.params.id), request.body)
    request.log.info({ event: 'admin_consumer_updated', consumerId: consumer.id, fields: Object.keys(request.body) }, 'LTI 1.1 consumer updated')
    return consumer
  })

  app.delete('/lti11/consumers/:id', {
    schema: { params: IdParamsSchema, response: { 204: NoContentSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request, reply) => {
    const id = Number(request.params.id)
    await services.consumers.remove(id)
    request.log.info({ event: 'admin_consumer_removed', consumerId: id }, 'LTI 1.1 consumer removed')
    return reply.code(204).send(null)
  })
}

export default consumers
