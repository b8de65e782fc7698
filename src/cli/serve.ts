import type { Command } from 'commander'
import closeWithGrace from 'close-with-grace'
import { loadConfig } from '../config.js'
import { buildServer } from '../server.js'

export function registerServeCommand (program: Command): void {
  program.command('serve')
    .description('run the HTTP service (and, when configured, the event consumer and grade worker)')
    .action(async () => {
      const config = loadConfig()
      const server = await buildServer(config)
      // In-flight requests finish; new ones get 503; pools close after the routes are drained.
      closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
        if (err) server.log.error({ err }, 'closing after an error')
        else server.log.info({ signal }, 'shutting down')
        await server.close()
      })
      await server.listen({ port: config.PORT, host: config.HOST })
    })
}
