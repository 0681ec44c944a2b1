package dev.tensorloom.runtime.tokenize;

/** What to do with a text whose tokens do not fit the model's positions. */
public enum OverlongText {
    /** Keep the first tokens and the closing separator, as sentence-transformers and HF pipelines do. */
    TRUNCATE,
    /** Throw an exception that names the text and its token count. */
    REJECT
}
