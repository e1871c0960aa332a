-- wrk script: POST one JSON body to the URL, with a Bearer token, and report as JSON.
-- Usage: wrk ... -s post.lua URL -- <body file> [bearer token]
-- The summary is printed as one line "BENCHJSON {...}" for benchmarks/loadgen.py to read.
local req

function init(args)
    local f = assert(io.open(args[1], "rb"))
    local body = f:read("*a")
    f:close()
    local headers = { ["Content-Type"] = "application/json" }
    if args[2] and args[2] ~= "" then
        headers["Authorization"] = "Bearer " .. args[2]
    end
    req = wrk.format("POST", nil, headers, body)
end

function request()
    return req
end

function done(summary, latency, requests)
    local e = summary.errors
    local p = {}
    for _, q in ipairs({ 50, 90, 99, 99.9 }) do
        p[#p + 1] = string.format('"%s":%d', tostring(q), latency:percentile(q))
    end
    io.write(string.format(
        'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,'
            .. '"read_errors":%d,"write_errors":%d,"status_errors":%d,"timeouts":%d,'
            .. '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,%s}}\n',
        summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
        e.status, e.timeout, latency.min, latency.mean, latency.max, latency.stdev,
        table.concat(p, ",")))
end
