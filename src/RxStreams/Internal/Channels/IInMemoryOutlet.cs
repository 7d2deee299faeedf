namespace RxStreams.Internal;

/// <summary>Where an <see cref="InMemoryChannel"/> sends: the peer's inbound pipe, or a test's recorder.</summary>
internal interface IInMemoryOutlet
{
    /// <summary>Sends every segment in order, reporting progress through <paramref name="progress"/> as bytes are taken.</summary>
    ValueTask SendAsync(SendBatch batch, ISendProgress progress);

    /// <summary>Our side half-closed (a FIN).</summary>
    void ShutdownSend();

    /// <summary>Our side closed: gracefully (a FIN after what was sent) or with <paramref name="reset"/> (an RST).</summary>
    void Close(Exception? reset);
}
