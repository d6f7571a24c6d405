//! Lexer: source text to tokens. (Being written: see the parser issue.)
