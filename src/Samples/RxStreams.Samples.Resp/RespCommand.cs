using System.Text;

namespace RxStreams.Samples.Resp;

/// <summary>One request: its arguments as raw bytes (RESP is binary-safe), the first being the command name.</summary>
internal sealed class RespCommand(IReadOnlyList<ReadOnlyMemory<byte>> arguments)
{
    public static readonly RespCommand Empty = new([]);

    public IReadOnlyList<ReadOnlyMemory<byte>> Arguments { get; } = arguments;

    /// <summary>The command name, upper-cased (commands are case-insensitive).</summary>
    public string Name => Arguments.Count == 0 ? string.Empty : Encoding.ASCII.GetString(Arguments[0].Span).ToUpperInvariant();

    public int Count => Arguments.Count;

    /// <summary>Argument <paramref name="index"/> as text (Latin-1: one char per byte, so keys stay binary-exact).</summary>
    public string Text(int index) => Encoding.Latin1.GetString(Arguments[index].Span);
}
