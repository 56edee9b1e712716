import { Hono } from 'hono'

// Ponder refuses to start without an API file; the baseline serves nothing beyond Ponder's own /ready.
export default new Hono()
