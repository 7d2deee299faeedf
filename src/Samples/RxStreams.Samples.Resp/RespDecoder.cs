using System.Buffers.Text;
using RxStreams.Framing;

namespace RxStreams.Samples.Resp;

/// <summary>
/// Decodes RESP2 requests: arrays of bulk strings (<c>*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n</c>) and inline commands
/// (<c>PING\r\n</c>, as typed into <c>nc</c> or sent by <c>redis-benchmark</c>'s PING_INLINE).
/// </summary>
/// <remarks>
/// <para>A custom <see cref="IFrameDecoder{TFrame}"/>: the library calls it with everything received and not yet consumed;
/// between calls that return false the buffer starts with the same bytes, so the decoder remembers what it has parsed:</para>
/// <code>
/// Start ──'*'──► ArrayHeader(n) ──► [BulkHeader($len) ──► BulkBody(len + CRLF)] × n ──► frame, back to Start
///   └──other──► Inline (up to '\n') ──► frame, back to Start
/// </code>
/// <para>
/// <b>Limits</b> (Redis's own, scaled down): a bulk string longer than <see cref="MaxBulkLength"/>, an array of more
/// than <see cref="MaxArguments"/> elements, or an inline command or header line longer than
/// <see cref="MaxInlineLength"/> is refused with <see cref="LimitOverrunException"/> as soon as its header is read,
/// before any of its bytes are buffered. Malformed headers raise <see cref="InvalidDataException"/>.
/// </para>
/// </remarks>
internal sealed class RespDecoder : IFrameDecoder<RespCommand>
{
    public const int MaxBulkLength = 1024 * 1024;
    public const int MaxArguments = 1024 * 1024;
    public const int MaxInlineLength = 64 * 1024;

    private int _position; // bytes of the current request already parsed
    private int _arity = -1; // -1 until the array header is read
    private int _bulkLength = -1; // -1 until the next bulk header is read
    private int _scanned; // where the search for the next '\n' resumes
    private List<ReadOnlyMemory<byte>> _arguments = [];

    public bool TryDecode(ReadOnlyMemory<byte> buffer, out RespCommand frame, out int consumed)
    {
        frame = RespCommand.Empty;
        consumed = 0;
        if (buffer.IsEmpty)
        {
            return false;
        }

        if (_arity < 0)
        {
            if (buffer.Span[0] != (byte)'*')
            {
                return TryDecodeInline(buffer, out frame, out consumed);
            }

            if (!TryReadHeaderLine(buffer, out var count))
            {
                return false;
            }

            if (count > MaxArguments)
            {
                throw new LimitOverrunException($"Protocol error: invalid multibulk length ({count} > {MaxArguments})", _position);
            }

            if (count <= 0)
            {
                return Complete(out frame, out consumed); // *0 and *-1: an empty request, ignored by the server
            }

            _arity = (int)count;
        }

        while (_arguments.Count < _arity)
        {
            if (_bulkLength < 0)
            {
                if (_position >= buffer.Length)
                {
                    return false;
                }

                if (buffer.Span[_position] != (byte)'$')
                {
                    throw new InvalidDataException($"Protocol error: expected '$', got '{(char)buffer.Span[_position]}'");
                }

                if (!TryReadHeaderLine(buffer, out var length))
                {
                    return false;
                }

                if (length is < 0 or > MaxBulkLength)
                {
                    // Refused on the header alone: the peer cannot make us buffer a huge value first.
                    throw new LimitOverrunException($"Protocol error: invalid bulk length ({length})", _position);
                }

                _bulkLength = (int)length;
            }

            if (buffer.Length - _position < _bulkLength + 2)
            {
                return false;
            }

            var tail = buffer.Span.Slice(_position + _bulkLength, 2);
            if (tail[0] != (byte)'\r' || tail[1] != (byte)'\n')
            {
                throw new InvalidDataException("Protocol error: a bulk string must end with CRLF");
            }

            _arguments.Add(buffer.Slice(_position, _bulkLength)); // a slice: the buffer is immutable and ours to keep
            _position += _bulkLength + 2;
            _scanned = _position;
            _bulkLength = -1;
        }

        return Complete(out frame, out consumed);
    }

    public bool TryDecodeAtEnd(ReadOnlyMemory<byte> buffer, out RespCommand frame, out int consumed)
    {
        if (buffer.IsEmpty)
        {
            frame = RespCommand.Empty;
            consumed = 0;
            return false;
        }

        if (_arity < 0 && buffer.Span[0] != (byte)'*')
        {
            // An inline command without its line ending, then EOF (`printf PING | nc`): accept it, as Redis does not, kindly.
            frame = new RespCommand(SplitInline(buffer));
            consumed = buffer.Length;
            Reset();
            return true;
        }

        throw new IncompleteReadException(buffer, expected: null);
    }

    private bool TryDecodeInline(ReadOnlyMemory<byte> buffer, out RespCommand frame, out int consumed)
    {
        frame = RespCommand.Empty;
        consumed = 0;
        int newline = buffer.Span[_scanned..].IndexOf((byte)'\n');
        if (newline < 0)
        {
            _scanned = buffer.Length;
            if (buffer.Length > MaxInlineLength)
            {
                throw new LimitOverrunException("Protocol error: too big inline request", buffer.Length);
            }

            return false;
        }

        int end = _scanned + newline;
        frame = new RespCommand(SplitInline(buffer[..end]));
        consumed = end + 1;
        Reset();
        return true;
    }

    /// <summary>Reads a <c>*n\r\n</c> or <c>$n\r\n</c> header at <see cref="_position"/>.</summary>
    private bool TryReadHeaderLine(ReadOnlyMemory<byte> buffer, out long value)
    {
        value = 0;
        var span = buffer.Span;
        int newline = span[_scanned..].IndexOf((byte)'\n');
        if (newline < 0)
        {
            _scanned = buffer.Length;
            if (buffer.Length - _position > MaxInlineLength)
            {
                throw new LimitOverrunException("Protocol error: too big header line", buffer.Length - _position);
            }

            return false;
        }

        int end = _scanned + newline; // the '\n'
        var digits = span[(_position + 1)..end];
        if (digits.IsEmpty || digits[^1] != (byte)'\r' || !Utf8Parser.TryParse(digits[..^1], out value, out int used) || used != digits.Length - 1)
        {
            throw new InvalidDataException($"Protocol error: invalid {(span[_position] == (byte)'*' ? "multibulk" : "bulk")} length");
        }

        _position = end + 1;
        _scanned = _position;
        return true;
    }

    private bool Complete(out RespCommand frame, out int consumed)
    {
        frame = new RespCommand(_arguments);
        consumed = _position;
        _arguments = [];
        Reset();
        return true;
    }

    private void Reset()
    {
        _position = 0;
        _arity = -1;
        _bulkLength = -1;
        _scanned = 0;
        _arguments.Clear();
    }

    private static List<ReadOnlyMemory<byte>> SplitInline(ReadOnlyMemory<byte> line)
    {
        var arguments = new List<ReadOnlyMemory<byte>>();
        var span = line.Span;
        int start = -1;
        for (int i = 0; i <= span.Length; i++)
        {
            bool separator = i == span.Length || span[i] is (byte)' ' or (byte)'\t' or (byte)'\r';
            if (separator && start >= 0)
            {
                arguments.Add(line[start..i]);
                start = -1;
            }
            else if (!separator && start < 0)
            {
                start = i;
            }
        }

        return arguments;
    }
}
