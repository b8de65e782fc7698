import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { AdminServices } from '../../admin/admin-services.js'
import { CommonErrorResponses, ErrorResponseSchema, IdParamsSchema } from '../../../schemas/http/admin-common.js'
import {
  BulkRetryResultSchema, BulkRetrySchema, PassbackListQuerySchema, PassbackListSchema, PassbackSchema
} from '../../../schemas/http/admin-passbacks.js'

/** A retry of one job takes no body; an empty JSON object is accepted too. */
const EmptyBodySchema = Type.Union([Type.Null(), Type.Object({}, { additionalProperties: false })])

const optionalNumber = (v: string | undefined) => v === undefined ? undefined : Number(v)

/** /passbacks (prefix /admin/api/v1): the grade outbox. */
const passbacks: FastifyPluginAsyncTypebox<{ services: AdminServices }> = async (app, { services }) => {
  app.get('/passbacks', {
    schema: { querystring: PassbackListQuerySchema, response: { 200: PassbackListSchema, ...CommonErrorResponses } }
  }, async (request) => {
    const q = request.query
    return await services.passbacks.list({
      ...(q.status === undefined ? {} : { status: q.status }),
      ...(q.consumerId === undefined ? {} : { consumerId: optionalNumber(q.consumerId) }),
      ...(q.registrationId === undefined ? {} : { registrationId: optionalNumber(q.registrationId) }),
      ...(q.limit === undefined ? {} : { limit: optionalNumber(q.limit) }),
      ...(q.before === undefined ? {} : { before: optionalNumber(q.before) })
    })
  })

  app.get('/passbacks/:id', {
    schema: { params: IdParamsSchema, response: { 200: PassbackSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request) => await services.passbacks.get(Number(request.params.id)))

  app.post('/passbacks/:id/retry', {
    schema: { params: IdParamsSchema, body: EmptyBodySchema, response: { 200: PassbackSchema, ...CommonErrorResponses, 404: ErrorResponseSchema, 409: ErrorResponseSchema } }
  }, async (request) => {
    const job = await services.passbacks.retry(Number(request.params.id))
    request.log.info({ event: 'admin_passback_retried', passbackId: job.id }, 'grade passback requeued')
    return job
  })

  app.post('/passbacks/retry', {
    schema: { body: BulkRetrySchema, response: { 200: BulkRetryResultSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request) => {
    const result = await services.passbacks.retryMany(request.body)
    request.log.info({ event: 'admin_passbacks_retried', ...request.body, ...result }, 'grade passbacks requeued')
    return result
  })
}

export default passbacks
