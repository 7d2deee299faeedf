namespace RxStreams.Decoders;

/// <summary>
/// A decoder that knows how long the frame it is in the middle of will be, so a failure of the input inside that frame
/// can report <see cref="IncompleteReadException.Expected"/> as an end of input does.
/// </summary>
internal interface IExpectsFrameLength
{
    /// <summary>The length of the frame being decoded, or <see langword="null"/> when it is not known yet.</summary>
    long? ExpectedFrameLength { get; }
}
