"""All IO of the client side: profiles, tokens, REST, MQTT, fleet state, local store. No Textual."""
