import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { AdminServices } from '../../admin/admin-services.js'
import { CommonErrorResponses, ErrorResponseSchema, IdParamsSchema, NoContentSchema } from '../../../schemas/http/admin-common.js'
import { InviteCreateSchema, InviteCreatedSchema, InviteListSchema, InviteSchema } from '../../../schemas/http/admin-invites.js'

/** An invite with every default takes no body; an empty JSON object is accepted too. */
const CreateBodySchema = Type.Union([Type.Null(), InviteCreateSchema])

/**
 * /lti13/registration-invites (prefix /admin/api/v1): one-time LTI Dynamic Registration invites.
 * The URL (the invite's secret) appears only in the 201 answer, never in a listing or a log line.
 */
const registrationInvites: FastifyPluginAsyncTypebox<{ services: AdminServices }> = async (app, { services }) => {
  app.post('/lti13/registration-invites', {
    schema: { body: CreateBodySchema, response: { 201: InviteCreatedSchema, ...CommonErrorResponses } }
  }, async (request, reply) => {
    const invite = await services.invites.create(request.body ?? {})
    request.log.info({ event: 'admin_invite_created', inviteId: invite.id, expiresAt: invite.expiresAt }, 'LTI 1.3 registration invite created')
    return reply.code(201).send(invite)
  })

  app.get('/lti13/registration-invites', {
    schema: { response: { 200: InviteListSchema, ...CommonErrorResponses } }
  }, async () => ({ invites: await services.invites.list() }))

  app.get('/lti13/registration-invites/:id', {
    schema: { params: IdParamsSchema, response: { 200: InviteSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request) => await services.invites.get(Number(request.params.id)))

  app.delete('/lti13/registration-invites/:id', {
    schema: { params: IdParamsSchema, response: { 204: NoContentSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request, reply) => {
    const id = Number(request.params.id)
    await services.invites.remove(id)
    request.log.info({ event: 'admin_invite_removed', inviteId: id }, 'LTI 1.3 registration invite removed')
    return reply.code(204).send(null)
  })
}

export default registrationInvites
