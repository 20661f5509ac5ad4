"use strict";
module.exports = require("node-int64");
