namespace RxStreams.Internal;

/// <summary>Validation and normalisation of separator sets, shared by the operators and the pull methods.</summary>
internal static class Separators
{
    /// <summary>
    /// Copies the separators (the caller may reuse its memory), checks them as asyncio does, and sorts them by length so
    /// that on a tie the shortest wins.
    /// </summary>
    public static byte[][] Normalize(IEnumerable<ReadOnlyMemory<byte>> separators, string paramName)
    {
        ArgumentNullException.ThrowIfNull(separators, paramName);
        var copies = separators.Select(static s => s.ToArray()).ToArray();
        if (copies.Length == 0)
        {
            throw new ArgumentException("Separator should contain at least one element.", paramName);
        }

        if (copies.Any(static s => s.Length == 0))
        {
            throw new ArgumentException("Separator should be at least one-byte string.", paramName);
        }

        // Stable sort by length keeps the caller's order among equal lengths, as Python's sorted() does.
        return [.. copies.OrderBy(static s => s.Length)];
    }
}
