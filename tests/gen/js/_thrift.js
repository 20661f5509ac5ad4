"use strict";
module.exports = require("thrift").Thrift;
