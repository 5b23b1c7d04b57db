/**
 * A minimal OpenAI-compatible chat-completions client (OpenRouter by default). Every failure —
 * network error, non-2xx status, timeout, malformed JSON, empty reply — comes back as
 * `{ ok: false, reason }` so the caller can fall back to full-text search; it never throws.
 */
export interface ChatTurn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface LlmSettings {
  apiUrl: string;
  apiKey: string;
  model: string;
  timeoutMs: number;
  maxTokens: number;
}

export type LlmResult = { ok: true; content: string } | { ok: false; reason: 'timeout' | 'network' | 'http_error' | 'malformed' | 'empty'; status?: number };

/** Longest reply we keep, whatever the model sends (max_tokens is the first bound). */
export const MAX_ANSWER_CHARS = 8000;

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  // some providers return content parts: [{type: 'text', text: '…'}]
  if (Array.isArray(content)) return content.map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : '')).join('');
  return '';
}

export async function chatCompletion(s: LlmSettings, messages: ChatTurn[], fetchImpl: typeof fetch = fetch): Promise<LlmResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), s.timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetchImpl(`${s.apiUrl.replace(/\/+$/, '')}/chat/completions`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${s.apiKey}`,
          'Content-Type': 'application/json',
          Accept: 'application/json',
          'X-Title': 'SmartSupport',
        },
        body: JSON.stringify({ model: s.model, messages, max_tokens: s.maxTokens, temperature: 0.2, stream: false }),
        signal: controller.signal,
      });
    } catch {
      return { ok: false, reason: controller.signal.aborted ? 'timeout' : 'network' };
    }
    let body: unknown;
    try {
      const text = await res.text(); // the abort signal also bounds reading the body
      if (!res.ok) return { ok: false, reason: 'http_error', status: res.status };
      body = JSON.parse(text);
    } catch {
      return controller.signal.aborted ? { ok: false, reason: 'timeout' } : { ok: false, reason: 'malformed', status: res.status };
    }
    const choices = (body as { choices?: unknown })?.choices;
    if (!Array.isArray(choices)) return { ok: false, reason: 'malformed', status: res.status };
    const content = textOf((choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content).trim();
    if (!content) return { ok: false, reason: 'empty', status: res.status };
    return { ok: true, content: content.slice(0, MAX_ANSWER_CHARS) };
  } finally {
    clearTimeout(timer);
  }
}
