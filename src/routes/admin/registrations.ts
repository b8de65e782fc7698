import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AdminServices } from '../../admin/admin-services.js'
import { CommonErrorResponses, ErrorResponseSchema, IdParamsSchema, NoContentSchema } from '../../../schemas/http/admin-common.js'
import {
  DeploymentCreateSchema, DeploymentParamsSchema, DeploymentSchema, RegistrationCreateSchema, RegistrationListSchema,
  RegistrationSchema, RegistrationUpdateSchema
} from '../../../schemas/http/admin-registrations.js'

/**
 * /lti13/registrations and /lti13/registrations/:id/deployments[/:deploymentId]
 * (prefix /admin/api/v1). A deployment id in the path is percent-encoded by the caller.
 */
const registrations: FastifyPluginAsyncTypebox<{ services: AdminServices }> = async (app, { services }) => {
  app.post('/lti13/registrations', {
    schema: { body: RegistrationCreateSchema, response: { 201: RegistrationSchema, ...CommonErrorResponses, 409: ErrorResponseSchema } }
  }, async (request, reply) => {
    const registration = await services.registrations.create(request.body)
    request.log.info({ event: 'admin_registration_created', registrationId: registration.id, deployments: registration.deployments.length }, 'LTI 1.3 registration created')
    return reply.code(201).send(registration)
  })

  app.get('/lti13/registrations', {
    schema: { response: { 200: RegistrationListSchema, ...CommonErrorResponses } }
  }, async () => ({ registrations: await services.registrations.list() }))

  app.get('/lti13/registrations/:id', {
    schema: { params: IdParamsSchema, response: { 200: RegistrationSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request) => await services.registrations.get(Number(request.params.id)))

  app.patch('/lti13/registrations/:id', {
    schema: { params: IdParamsSchema, body: RegistrationUpdateSchema, response: { 200: RegistrationSchema, ...CommonErrorResponses, 404: ErrorResponseSchema, 409: ErrorResponseSchema } }
  }, async (request) => {
    const registration = await services.registrations.update(Number(request.params.id), request.body)
    request.log.info({ event: 'admin_registration_updated', registrationId: registration.id, fields: Object.keys(request.body) }, 'LTI 1.3 registration updated')
    return registration
  })

  app.delete('/lti13/registrations/:id', {
    schema: { params: IdParamsSchema, response: { 204: NoContentSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request, reply) => {
    const id = Number(request.params.id)
    await services.registrations.remove(id)
    request.log.info({ event: 'admin_registration_removed', registrationId: id }, 'LTI 1.3 registration removed')
    return reply.code(204).send(null)
  })

  app.post('/lti13/registrations/:id/deployments', {
    schema: { params: IdParamsSchema, body: DeploymentCreateSchema, response: { 201: DeploymentSchema, ...CommonErrorResponses, 404: ErrorResponseSchema, 409: ErrorResponseSchema } }
  }, async (request, reply) => {
    const id = Number(request.params.id)
    const deployment = await services.registrations.addDeployment(id, request.body.deploymentId)
    request.log.info({ event: 'admin_deployment_added', registrationId: id }, 'LTI 1.3 deployment added')
    return reply.code(201).send(deployment)
  })

  app.delete('/lti13/registrations/:id/deployments/:deploymentId', {
    schema: { params: DeploymentParamsSchema, response: { 204: NoContentSchema, ...CommonErrorResponses, 404: ErrorResponseSchema } }
  }, async (request, reply) => {
    const id = Number(request.params.id)
    await services.registrations.removeDeployment(id, request.params.deploymentId)
    request.log.info({ event: 'admin_deployment_removed', registrationId: id }, 'LTI 1.3 deployment removed')
    return reply.code(204).send(null)
  })
}

export default registrations
