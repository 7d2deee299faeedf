using System.Buffers;

namespace RxStreams.Benchmarks.Baselines;

/// <summary>
/// The per-line work of the Pipelines-based line echo servers (raw sockets and Kestrel share it, so
/// the comparison between them is about transport, not parsing): find each '\n'-terminated line in a
/// read buffer and copy it, '\n' included, to the output. Flushing is the caller's job, once per read.
/// </summary>
internal static class LineFraming
{
    /// <summary>
    /// A line longer than this without a '\n' is a protocol violation; a real server must bound its
    /// buffering, so the baselines do too.
    /// </summary>
    public const int MaxLineLength = 1024 * 1024;

    /// <summary>
    /// Writes every complete line of <paramref name="buffer"/> to <paramref name="output"/> and returns
    /// the position just past the last complete line (what the caller passes as <c>consumed</c> to AdvanceTo).
    /// </summary>
    /// <exception cref="InvalidDataException">The unterminated tail is longer than <see cref="MaxLineLength"/>.</exception>
    public static SequencePosition EchoCompleteLines(in ReadOnlySequence<byte> buffer, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(buffer);
        var lineStart = reader.Position;
        // TryReadTo frames the line exactly as a line protocol parser would; we then echo the line with its
        // delimiter by slicing from its start to just past the '\n', which avoids a separate 1-byte write.
        while (reader.TryReadTo(out ReadOnlySequence<byte> _, (byte)'\n', advancePastDelimiter: true))
        {
            var lineEnd = reader.Position;
            Write(buffer.Slice(lineStart, lineEnd), output);
            lineStart = lineEnd;
        }

        if (reader.Remaining > MaxLineLength)
        {
            throw new InvalidDataException($"Line longer than {MaxLineLength} bytes.");
        }

        return lineStart;
    }

    /// <summary>Copies a possibly multi-segment sequence to the output (the common case is one segment).</summary>
    private static void Write(in ReadOnlySequence<byte> bytes, IBufferWriter<byte> output)
    {
        if (bytes.IsSingleSegment)
        {
            output.Write(bytes.FirstSpan);
            return;
        }

        foreach (var segment in bytes)
        {
            output.Write(segment.Span);
        }
    }
}
