-- Bodies of the mock upstream, built once at load (init_by_lua) and served as constants.
local M = {}

local MODEL = "gpt-4o-mini"
local CREATED = 1700000000
local CHUNKS = 20          -- SSE events carrying the answer (role first, finish_reason last)
local EMBED_DIMS = 64
local DELAY = 0.05         -- seconds, the /slow/ variant

local chat_body = '{"id":"chatcmpl-mock","object":"chat.completion","created":' .. CREATED
    .. ',"model":"' .. MODEL .. '","choices":[{"index":0,"message":{"role":"assistant",'
    .. '"content":"Hello! This is a mocked answer from the benchmark upstream."},'
    .. '"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":12,'
    .. '"total_tokens":24}}'

local function chunk(delta, finish)
    return 'data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":' .. CREATED
        .. ',"model":"' .. MODEL .. '","choices":[{"index":0,"delta":' .. delta
        .. ',"finish_reason":' .. finish .. '}]}\n\n'
end

local events = { chunk('{"role":"assistant","content":""}', "null") }
for i = 2, CHUNKS - 1 do
    events[#events + 1] = chunk('{"content":"tok' .. i .. ' "}', "null")
end
events[#events + 1] = chunk("{}", '"stop"')
events[#events + 1] = 'data: {"id":"chatcmpl-mock","object":"chat.completion.chunk","created":'
    .. CREATED .. ',"model":"' .. MODEL .. '","choices":[],"usage":{"prompt_tokens":12,'
    .. '"completion_tokens":' .. (CHUNKS - 2) .. ',"total_tokens":' .. (12 + CHUNKS - 2) .. '}}\n\n'
events[#events + 1] = "data: [DONE]\n\n"
local stream_body = table.concat(events)

local vec = {}
for i = 1, EMBED_DIMS do
    vec[i] = string.format("%.6f", math.sin(i) / 8)
end
local embed_body = '{"object":"list","data":[{"object":"embedding","index":0,"embedding":['
    .. table.concat(vec, ",") .. ']}],"model":"text-embedding-3-small",'
    .. '"usage":{"prompt_tokens":8,"total_tokens":8}}'

local function read_body()
    ngx.req.read_body()
    return ngx.req.get_body_data() or ""
end

function M.chat(variant)
    if ngx.req.get_method() ~= "POST" then
        return ngx.exit(405)
    end
    local body = read_body()
    if variant == "slow/" then
        ngx.sleep(DELAY)
    end
    if string.find(body, '"stream"%s*:%s*true') then
        ngx.header["Content-Type"] = "text/event-stream"
        ngx.header["Cache-Control"] = "no-cache"
        if variant == "paced/" then
            for i = 1, #events do
                ngx.print(events[i])
                ngx.flush(false)
            end
        else
            ngx.print(stream_body)
        end
        return
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #chat_body
    ngx.print(chat_body)
end

function M.embeddings(variant)
    if ngx.req.get_method() ~= "POST" then
        return ngx.exit(405)
    end
    read_body()
    if variant == "slow/" then
        ngx.sleep(DELAY)
    end
    ngx.header["Content-Type"] = "application/json"
    ngx.header["Content-Length"] = #embed_body
    ngx.print(embed_body)
end

return M
